import type { DockerEngine } from '../../src/docker/engine.js';

/**
 * The engine, with `fn` run once just before the first call of `call` goes out: an integration test stops a
 * real engine at an exact point of a job (between the inspect and the attach, say). Every other call, and
 * that call itself once `fn` is done, reaches the real engine as it is.
 */
export function beforeFirst(engine: DockerEngine, call: keyof DockerEngine, fn: () => Promise<void>): DockerEngine {
  let done = false;
  return new Proxy(engine, {
    get(target, prop) {
      const value: unknown = Reflect.get(target, prop, target);
      if (typeof value !== 'function') return value;
      const method = value as (...args: unknown[]) => unknown;
      if (prop !== call) return method.bind(target);
      return async (...args: unknown[]) => {
        if (!done) {
          done = true;
          await fn();
        }
        return method.apply(target, args);
      };
    },
  });
}
