import { watch, type FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';
import { loadConfigFile, type ConfigSnapshot } from './load-config.js';

export interface ConfigWatcher {
  current(): ConfigSnapshot;
  /** Re-reads the file now; resolves to whether the new snapshot was taken. */
  reload(reason: string): Promise<boolean>;
  close(): void;
}

export interface ConfigWatcherOptions {
  initial: ConfigSnapshot;
  /** Applies a snapshot everywhere; throwing (or rejecting) refuses it and the previous one is re-applied. */
  onReload: (next: ConfigSnapshot, previous: ConfigSnapshot, reason: string) => void | Promise<void>;
  onRejected: (error: unknown, reason: string) => void;
  /** Listen for SIGHUP (the serve command does; tests usually do not). */
  sighup?: boolean;
  debounceMs?: number;
}

/**
 * Hot reload (STYLE.md habit 6): on a file change or SIGHUP a new frozen snapshot is built and swapped
 * in whole; one that does not validate is refused and the old snapshot stays in force.
 */
export function watchConfig(options: ConfigWatcherOptions): ConfigWatcher {
  const { onReload, onRejected, debounceMs = 150 } = options;
  let snapshot = options.initial;
  let timer: NodeJS.Timeout | undefined;

  // Reloads run one at a time, in order: a slow apply cannot interleave with the next one.
  let queue: Promise<unknown> = Promise.resolve();
  const reload = (reason: string): Promise<boolean> => {
    const run = queue.then(() => reloadNow(reason));
    queue = run.catch(() => {});
    return run;
  };

  const reloadNow = async (reason: string): Promise<boolean> => {
    let next: ConfigSnapshot;
    try {
      next = loadConfigFile(snapshot.path);
    } catch (error) {
      onRejected(error, reason);
      return false;
    }
    const previous = snapshot;
    snapshot = next;
    try {
      await onReload(next, previous, reason);
    } catch (error) {
      // A capability could not apply the new snapshot: go back to the old one everywhere.
      snapshot = previous;
      onRejected(error, reason);
      try {
        await onReload(previous, next, `rollback after ${reason}`);
      } catch {
        /* the previous snapshot was applied before; nothing more to do */
      }
      return false;
    }
    return true;
  };

  // Watch the folder, not the file: editors replace files by rename, which ends a file watch.
  let watcher: FSWatcher | undefined;
  try {
    watcher = watch(dirname(snapshot.path), (_event, name) => {
      if (name !== null && name.toString() !== basename(snapshot.path)) return;
      clearTimeout(timer);
      timer = setTimeout(() => void reload('file changed'), debounceMs);
    });
    watcher.on('error', (error) => onRejected(error, 'watch'));
  } catch (error) {
    onRejected(error, 'watch');
  }
  const onSighup = () => void reload('SIGHUP');
  if (options.sighup) process.on('SIGHUP', onSighup);

  return {
    current: () => snapshot,
    reload,
    close() {
      clearTimeout(timer);
      watcher?.close();
      if (options.sighup) process.off('SIGHUP', onSighup);
    },
  };
}
