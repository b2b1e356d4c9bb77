/**
 * "updated 5s ago" texts that keep counting. The panel and the study view redraw a study only
 * when they read it again, and they read nothing while no study runs, so a relative time would
 * stay at what it said then ("updated 17s ago" for minutes). Each such text remembers its time
 * and a local timer renders it again; no request is made.
 */
import { Widget } from '@lumino/widgets';

import { formatAgo } from './types';

/** How often (ms) the "… ago" texts of a visible widget are rendered again. */
export const AGO_INTERVAL = 1000;

/** Show `prefix` and how long ago `epochSeconds` was in `node`, and mark it for `renderAgo`. */
export function showAgo(node: HTMLElement, epochSeconds: number, prefix = ''): void {
  node.dataset.agoTime = String(epochSeconds);
  node.dataset.agoPrefix = prefix;
  renderOne(node, Date.now() / 1000);
}

/** Render every text `showAgo` marked below `root` for the time `now` (epoch seconds). */
export function renderAgo(root: HTMLElement, now: number = Date.now() / 1000): void {
  root.querySelectorAll<HTMLElement>('[data-ago-time]').forEach(node => renderOne(node, now));
}

/** One marked text; the DOM is only touched when the text changes. */
function renderOne(node: HTMLElement, now: number): void {
  const text = `${node.dataset.agoPrefix ?? ''}${formatAgo(Number(node.dataset.agoTime), now)}`;
  if (node.textContent !== text) {
    node.textContent = text;
  }
}

/**
 * Renders the "… ago" texts of `widget` every `AGO_INTERVAL` ms while it is attached, skipping
 * the ticks where it is hidden (a collapsed sidebar, a tab in the background).
 */
export class AgoTicker {
  private _timer: number | null = null;

  constructor(private _widget: Widget) {}

  /** Start (again); the texts are rendered at once. */
  start(): void {
    this.stop();
    renderAgo(this._widget.node);
    this._timer = window.setInterval(() => {
      if (this._widget.isVisible) {
        renderAgo(this._widget.node);
      }
    }, AGO_INTERVAL);
  }

  stop(): void {
    if (this._timer !== null) {
      window.clearInterval(this._timer);
      this._timer = null;
    }
  }
}
