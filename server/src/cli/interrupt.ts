/**
 * Ctrl-C during a run: the first aborts it (every close is bounded, so it ends within about a
 * second), a second exits at once, and should anything still be pending past the bound, the
 * process exits anyway. Shared by `test` and `test --sweep`.
 */

/** After Ctrl-C, the most the run's bounded cleanup may take before the process exits anyway. */
const SIGINT_EXIT_AFTER_MS = 3000;

export interface Interrupt {
  /** Aborted by the first Ctrl-C. */
  signal: AbortSignal;
  interrupted(): boolean;
  /** Stops listening for Ctrl-C (the run is over). */
  dispose(): void;
}

export function listenForInterrupt(): Interrupt {
  const controller = new AbortController();
  let interrupted = false;
  const onSigint = () => {
    // A second Ctrl-C while closing gives up at once.
    if (interrupted) process.exit(130);
    interrupted = true;
    controller.abort();
    setTimeout(() => {
      console.error('pool-capacity: interrupted; some connections did not close in time');
      process.exit(130);
    }, SIGINT_EXIT_AFTER_MS).unref();
  };
  process.on('SIGINT', onSigint);
  return {
    signal: controller.signal,
    interrupted: () => interrupted,
    dispose: () => process.off('SIGINT', onSigint),
  };
}
