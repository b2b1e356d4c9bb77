/**
 * The studies of every storage file the server sees, kept up to date.
 *
 * While any study runs the model asks for the list every second; while a storage file is
 * locked by another process, or the server cannot be reached, every five seconds. Otherwise
 * it sends no periodic requests: it holds one `watch` request open, which the server answers when a
 * storage file changes (a study started in any kernel or script), and then refreshes.
 */
import { ISignal, Signal } from '@lumino/signaling';

import { HPORequestError, postAPI, requestAPI } from './handler';
import { IListing, IStudy, IStudySummary, isActive } from './types';

/** How often the list is refreshed while a study runs (ms). */
export const RUNNING_INTERVAL = 1000;

export class StudiesModel {
  private _listing: IListing | null = null;
  private _error: string | null = null;
  private _changed = new Signal<this, void>(this);
  private _timer: number | null = null;
  private _watch: AbortController | null = null;
  private _watchToken = '';
  private _disposed = false;
  private _refreshing: Promise<void> | null = null;
  private _next: Promise<void> | null = null;
  private _fresh = false;

  /** The last listing (null before the first answer). */
  get listing(): IListing | null {
    return this._listing;
  }

  /** Why the last refresh failed, or null. */
  get error(): string | null {
    return this._error;
  }

  get studies(): IStudySummary[] {
    return this._listing?.studies ?? [];
  }

  get running(): IStudySummary[] {
    return this.studies.filter(s => isActive(s.state));
  }

  /** Emitted after every refresh. */
  get changed(): ISignal<this, void> {
    return this._changed;
  }

  /** Start keeping the list up to date. */
  start(): void {
    void this.refresh();
  }

  /**
   * Fetch the list now; `fresh` makes the server look for new storage files at once. The
   * promise resolves with a list asked for after the call: calls made while a refresh is in
   * flight (which may have asked before a study started) are merged into one more after it,
   * and wait for that one ("Stop all" right after a study started missed it).
   */
  refresh(fresh = false): Promise<void> {
    this._fresh = this._fresh || fresh;
    if (this._refreshing) {
      if (!this._next) {
        this._next = this._refreshing.then(() => {
          this._next = null;
          return this._disposed ? undefined : this.refresh();
        });
      }
      return this._next;
    }
    this._refreshing = this._refresh().finally(() => {
      this._refreshing = null;
    });
    return this._refreshing;
  }

  private async _refresh(): Promise<void> {
    this._clearSchedule();
    try {
      const query: Record<string, string> = this._fresh ? { fresh: '1' } : {};
      this._fresh = false;
      this._listing = await requestAPI<IListing>('studies', {}, query);
      this._error = null;
    } catch (error) {
      this._error = (error as Error).message;
    }
    if (this._disposed) {
      return;
    }
    this._changed.emit();
    this._schedule();
  }

  private _clearSchedule(): void {
    if (this._timer !== null) {
      window.clearTimeout(this._timer);
      this._timer = null;
    }
    if (this._watch) {
      this._watch.abort();
      this._watch = null;
    }
  }

  private _schedule(): void {
    if (this._disposed) {
      return;
    }
    // a file that is unlocked again has not changed, so no watch would answer: ask again
    const locked = this._listing?.storages.some(s => s.locked) ?? false;
    if (this.running.length > 0 || this._error !== null || locked) {
      this._timer = window.setTimeout(
        () => void this.refresh(),
        this._error === null && this.running.length > 0 ? RUNNING_INTERVAL : 5 * RUNNING_INTERVAL
      );
    } else {
      void this._waitForChange();
    }
  }

  /** Hold a watch request until a storage file changes, then refresh. */
  private async _waitForChange(): Promise<void> {
    const controller = new AbortController();
    this._watch = controller;
    try {
      while (!controller.signal.aborted) {
        const answer = await requestAPI<{ token: string }>(
          'watch',
          { signal: controller.signal },
          { since: this._watchToken, timeout: '30' }
        );
        const first = this._watchToken === '';
        const changed = answer.token !== this._watchToken;
        this._watchToken = answer.token;
        if (changed && !first) {
          break;
        }
      }
    } catch (error) {
      if (controller.signal.aborted) {
        return;
      }
      if (!(error instanceof HPORequestError)) {
        // the server went away: try again later
        await new Promise(resolve => setTimeout(resolve, 5 * RUNNING_INTERVAL));
      }
    }
    if (!controller.signal.aborted && this._watch === controller) {
      this._watch = null;
      void this.refresh(true);
    }
  }

  /** One study with its trials. */
  study(storage: string, name: string): Promise<IStudy> {
    return requestAPI<IStudy>('study', {}, { storage, name });
  }

  /** Ask a running study to stop (it stops in whichever kernel runs it). */
  async stop(study: IStudySummary): Promise<void> {
    await postAPI('stop', { storage: study.storage, name: study.name });
    await this.refresh();
  }

  /** Delete a study that no live process runs. */
  async remove(study: IStudySummary): Promise<void> {
    await requestAPI(
      'study',
      { method: 'DELETE' },
      { storage: study.storage, name: study.name }
    );
    await this.refresh();
  }

  dispose(): void {
    this._disposed = true;
    this._clearSchedule();
  }
}
