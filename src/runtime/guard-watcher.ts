import { watch, type FSWatcher } from 'node:fs';

export interface GuardWatcherOptions {
  /** The folders to watch, read again on every re-arm (the config may name new ones). */
  folders: () => string[];
  /** Called once per burst of changes, `debounceMs` after the last one. */
  onChange: () => Promise<unknown>;
  debounceMs?: number;
  logger: { info(obj: object, msg: string): void; warn(obj: object, msg: string): void };
}

/**
 * Watches the guards folder and the config file's folder (WASMGUARD_WATCH).
 *
 * Folders rather than files: Kubernetes updates a mounted ConfigMap by
 * writing a new `..2026_…` folder and renaming a new `..data` symlink over the
 * old one, so the files' own inodes never change; the rename is an event in
 * the mount folder. A path that goes through a symlink (…/..data/guards) is
 * resolved by fs.watch when armed and would keep watching the deleted old
 * folder, so every burst re-arms every watcher from the paths. Bursts (a swap
 * is several events) are debounced into one reload.
 */
export class GuardWatcher {
  #watchers: FSWatcher[] = [];
  #timer: NodeJS.Timeout | undefined;
  #closed = false;
  #reloading: Promise<unknown> = Promise.resolve();
  readonly #debounceMs: number;

  constructor(readonly options: GuardWatcherOptions) {
    this.#debounceMs = options.debounceMs ?? 300;
    this.#arm();
  }

  /** Folders watched now (tests, logs). */
  get watching(): number {
    return this.#watchers.length;
  }

  #arm(): void {
    for (const w of this.#watchers.splice(0)) w.close();
    if (this.#closed) return;
    const folders = [...new Set(this.options.folders())];
    for (const folder of folders) {
      try {
        const watcher = watch(folder, { persistent: false }, () => this.#changed());
        // The folder itself went away (an unmounted volume): try again on the next burst's schedule.
        watcher.on('error', (error) => {
          this.options.logger.warn({ folder, err: error }, 'watch: folder watcher failed; re-arming');
          this.#changed();
        });
        this.#watchers.push(watcher);
      } catch (error) {
        this.options.logger.warn({ folder, err: error }, 'watch: cannot watch folder');
      }
    }
    this.options.logger.info({ folders }, 'watch: watching for guard changes');
  }

  #changed(): void {
    if (this.#closed) return;
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#reloading = this.#reloading
        .then(() => this.options.onChange())
        .catch(() => undefined)
        .finally(() => this.#arm());
    }, this.#debounceMs);
    this.#timer.unref();
  }

  /** Stops watching; a reload already started finishes. */
  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#timer);
    for (const w of this.#watchers.splice(0)) w.close();
    await this.#reloading;
  }
}
