// Interrupting the bench: SIGINT/SIGTERM abort `stop`, every step checks it, and the cleanup runs as usual.

/** Set by SIGINT/SIGTERM: every step checks it, and the cleanup runs as usual. */
export const stop = new AbortController();

export class Interrupted extends Error {
  constructor(signal: string) {
    super(`interrupted by ${signal}`);
    this.name = 'Interrupted';
  }
}

/** Throws when the bench was interrupted; call between steps. */
export function live(): void {
  if (stop.signal.aborted) throw new Interrupted(String(stop.signal.reason ?? 'a signal'));
}

/** A promise that rejects as soon as the bench is interrupted (for waits that could take long). */
export function interruptible<T>(p: Promise<T>): Promise<T> {
  if (stop.signal.aborted) return Promise.reject(new Interrupted(String(stop.signal.reason)));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new Interrupted(String(stop.signal.reason)));
    stop.signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => {
        stop.signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (err: unknown) => {
        stop.signal.removeEventListener('abort', onAbort);
        reject(err);
      },
    );
  });
}
