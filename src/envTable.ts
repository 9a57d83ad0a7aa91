import { envSchema } from './config.js';

/** The README's table of environment variables, generated from the schema (a test keeps them equal). */
export function envTable(): string {
  const defaults = envSchema.parse({}) as Record<string, unknown>;
  const rows = Object.entries(envSchema.shape).map(([name, schema]) => {
    const d = defaults[name];
    const shown = d === undefined ? '' : `\`${String(d)}\``;
    const meaning = (schema.description ?? '').replace(/</g, '&lt;').replace(/>/g, '&gt;');
    return `| \`${name}\` | ${shown} | ${meaning} |`;
  });
  return ['| variable | default | meaning |', '| --- | --- | --- |', ...rows].join('\n');
}
