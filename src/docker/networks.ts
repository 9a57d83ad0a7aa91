/** Docker's own networks, which every engine has: netq never creates, removes or attaches to them. */
export const DOCKER_NETWORKS: readonly string[] = ['bridge', 'host', 'none'];

export const isDockerNetwork = (name: string): boolean => DOCKER_NETWORKS.includes(name);

/** True for a network mode whose container joins no other network: `host`, `none`, `container:<id>`. */
export const joinsNoOtherNetwork = (mode: string): boolean =>
  mode === 'host' || mode === 'none' || mode.startsWith('container:');

/** The network a container of this network mode was created on: Docker's `default` (or none given) is `bridge`. */
export const createdOn = (mode: string): string => (mode === 'default' || mode === '' ? 'bridge' : mode);
