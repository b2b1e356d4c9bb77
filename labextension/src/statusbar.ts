/**
 * The status bar item: how many studies run and their progress ("HPO: 2 running · 13/40,
 * 5/20"); clicking it opens the studies panel. Hidden when nothing runs.
 */
import { Widget } from '@lumino/widgets';

import { StudiesModel } from './model';
import { IStudySummary } from './types';

function progress(study: IStudySummary): string {
  return study.budget ? `${study.spent}/${study.budget}` : `${study.spent}`;
}

export class StudiesStatus extends Widget {
  constructor(
    private _model: StudiesModel,
    onClick: () => void
  ) {
    super();
    this.addClass('jp-hpo-status');
    this.node.title = 'Hyperparameter studies: click to open the panel';
    this.node.addEventListener('click', onClick);
    _model.changed.connect(this._render, this);
    this._render();
  }

  /** Whether the item is shown (some study runs). */
  get active(): boolean {
    return this._model.running.length > 0;
  }

  private _render(): void {
    const running = this._model.running;
    this.node.textContent = running.length
      ? `HPO: ${running.length} running · ${running.map(progress).join(', ')}`
      : 'HPO: none running';
    this.node.dataset.running = String(running.length);
  }
}
