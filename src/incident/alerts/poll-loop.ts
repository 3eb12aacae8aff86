/** A check run every `intervalMs` and on demand, never two at once; `stop` waits for the one running. */
export interface PollLoop {
  checkNow(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * The watchers' shared loop: a failed check is reported to `onError` and tried again at the next tick
 * (a database blip must not end a watcher); the timer does not keep the process alive.
 */
export function pollEvery(intervalMs: number, check: () => Promise<void>, onError: (error: unknown) => void): PollLoop {
  let running: Promise<void> | undefined;
  const checkNow = (): Promise<void> => {
    running ??= check()
      .catch(onError)
      .finally(() => {
        running = undefined;
      });
    return running;
  };
  const timer = setInterval(() => void checkNow(), intervalMs);
  timer.unref();
  return {
    checkNow,
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
