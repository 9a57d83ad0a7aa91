// The four contenders of a rebuildall, in the order each round runs them and the tables list them.

export const CONTENDERS = ['dokku', 'onecall', 'netq', 'floor'] as const;
export type Contender = (typeof CONTENDERS)[number];
export const NAMES: Record<Contender, string> = {
  dokku: "A Dokku's way (bash + docker CLI)",
  onecall: 'B one-call limit (node, 1 list call)',
  netq: 'C netq rebuildall (CLI, warm worker)',
  floor: 'D queue floor (BullMQ tree, no-op)',
};
