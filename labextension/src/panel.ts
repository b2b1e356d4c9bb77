/**
 * The studies panel (left sidebar): every study of every storage file the server sees, with
 * its notebook or kernel, state, trials done of the budget, best value and last update, and
 * the actions open, stop, delete (confirmed in a dialog) and copy the best configuration.
 * Every string from a study is set as text.
 */
import { Clipboard, Dialog, showDialog, showErrorMessage } from '@jupyterlab/apputils';
import { Widget } from '@lumino/widgets';

import { AgoTicker, showAgo } from './ago';
import { StudiesModel } from './model';
import { element, formatNumber, IStudySummary, isActive } from './types';

/** What the panel asks the application to do. */
export interface IPanelActions {
  open(study: IStudySummary): void;
}

/** Text for a study's kernel or process. */
export function ownerText(study: IStudySummary): string {
  if (study.kernel) {
    return study.kernel.path ? study.kernel.path : `kernel ${study.kernel.kernel_id}`;
  }
  return study.owner ? `process ${study.owner}` : '';
}

/**
 * A study's error in one line: the error itself when it is one line, else its first line and
 * its last (for a traceback: the exception), joined by " … ".
 */
export function errorSummary(error: string): string {
  const lines = error
    .split('\n')
    .map(line => line.trim())
    .filter(Boolean);
  if (lines.length <= 1) {
    return lines[0] ?? '';
  }
  return `${lines[0]} … ${lines[lines.length - 1]}`;
}

/**
 * "12/40 trials · 10 completed · 2 interrupted": the budget spent and the trials per status,
 * as the dashboard and %hpo list say them.
 */
export function progressText(study: IStudySummary): string {
  const parts = [
    study.budget !== null ? `${study.spent}/${study.budget} trials` : `${study.spent} trials`
  ];
  for (const [status, n] of Object.entries(study.counts)) {
    if (n > 0) {
      parts.push(`${n} ${status}`);
    }
  }
  return parts.join(' · ');
}

export class StudiesPanel extends Widget {
  constructor(
    readonly model: StudiesModel,
    private _actions: IPanelActions
  ) {
    super();
    this.id = 'jupyter-hpo-studies';
    this.addClass('jp-hpo-panel');
    this.title.caption = 'Hyperparameter studies';
    const header = element('div', 'jp-hpo-panel-header');
    header.appendChild(element('h2', 'jp-hpo-panel-title', 'HPO studies'));
    const refresh = element('button', 'jp-Button jp-mod-styled jp-hpo-refresh', 'Refresh');
    refresh.title = 'Read the storage files again';
    refresh.addEventListener('click', () => void model.refresh(true));
    header.appendChild(refresh);
    this.node.appendChild(header);
    this._body = element('div', 'jp-hpo-panel-body');
    this._body.append(this._notices, this._list);
    this.node.appendChild(this._body);
    model.changed.connect(this._render, this);
    this._render();
  }

  /** "updated … ago" keeps counting between listings (there are none while nothing runs). */
  protected onAfterAttach(): void {
    this._ticker.start();
  }

  protected onBeforeDetach(): void {
    this._ticker.stop();
  }

  dispose(): void {
    this._ticker.stop();
    super.dispose();
  }

  private _render(): void {
    const listing = this.model.listing;
    const notices: HTMLElement[] = [];
    if (this.model.error) {
      notices.push(element('div', 'jp-hpo-error-text', this.model.error));
    }
    if (!listing) {
      notices.push(element('div', 'jp-hpo-empty', 'Looking for studies…'));
    } else {
      for (const note of listing.notes) {
        notices.push(element('div', 'jp-hpo-note', note));
      }
      for (const storage of listing.storages) {
        if (storage.error) {
          const problem = element('div', 'jp-hpo-storage-error');
          problem.appendChild(element('div', 'jp-hpo-storage-path', storage.path));
          problem.appendChild(element('div', 'jp-hpo-error-text', storage.error));
          notices.push(problem);
        }
      }
      if (listing.studies.length === 0) {
        notices.push(
          element(
            'div',
            'jp-hpo-empty',
            'No studies yet. Run a cell that starts with %%hpo; its study appears here.'
          )
        );
      }
    }
    this._notices.replaceChildren(...notices);
    // Rows are kept and updated in place, so a button being clicked is never replaced.
    const studies = listing ? [...listing.studies].sort((a, b) => b.created - a.created) : [];
    const many = new Set(studies.map(s => s.storage)).size > 1;
    const seen = new Set<string>();
    const rows: HTMLElement[] = [];
    for (const study of studies) {
      const key = JSON.stringify([study.storage, study.name]);
      seen.add(key);
      let row = this._rows.get(key);
      if (!row) {
        row = new StudyRow(this.model, this._actions);
        this._rows.set(key, row);
      }
      row.update(study, many);
      rows.push(row.node);
    }
    for (const [key, row] of this._rows) {
      if (!seen.has(key)) {
        row.node.remove();
        this._rows.delete(key);
      }
    }
    rows.forEach((node, i) => {
      if (this._list.children[i] !== node) {
        this._list.insertBefore(node, this._list.children[i] ?? null);
      }
    });
  }

  private _notices = element('div', 'jp-hpo-notices');
  private _list = element('div', 'jp-hpo-study-list');
  private _rows = new Map<string, StudyRow>();
  private _body: HTMLElement;
  private _ticker = new AgoTicker(this);
}

/** One study's entry in the panel, updated in place as the study changes. */
class StudyRow {
  readonly node = element('div', 'jp-hpo-study');
  private _name = element('a', 'jp-hpo-study-name');
  private _badge = element('span', 'jp-hpo-badge');
  private _bar = element('div', 'jp-hpo-progress-bar');
  private _trials = element('span', 'jp-hpo-trials');
  private _best = element('span', 'jp-hpo-best');
  private _updated = element('span', 'jp-hpo-updated');
  private _owner = element('div', 'jp-hpo-study-owner');
  private _reason = element('div', 'jp-hpo-study-reason');
  private _actionsNode = element('div', 'jp-hpo-study-actions');
  private _actionsKey = '';
  private _study: IStudySummary | null = null;

  constructor(
    private _model: StudiesModel,
    private _actions: IPanelActions
  ) {
    const top = element('div', 'jp-hpo-study-top');
    this._name.addEventListener('click', () => this._study && this._actions.open(this._study));
    top.append(this._name, this._badge);
    const progress = element('div', 'jp-hpo-progress');
    progress.appendChild(this._bar);
    const facts = element('div', 'jp-hpo-study-facts');
    facts.append(this._trials, this._best, this._updated);
    this.node.append(top, progress, facts, this._owner, this._reason, this._actionsNode);
  }

  update(study: IStudySummary, showStorage: boolean): void {
    this._study = study;
    const node = this.node;
    node.className = `jp-hpo-study jp-hpo-state-${study.state}`;
    node.dataset.name = study.name;
    node.dataset.storage = study.storage;
    node.dataset.state = study.state;
    node.dataset.trials = String(study.trials);
    node.dataset.spent = String(study.spent);
    this._name.textContent = study.name;
    this._name.title = `Open ${study.name}`;
    this._badge.className = `jp-hpo-badge jp-hpo-badge-${study.state}`;
    this._badge.textContent = study.state;
    const fraction = study.budget ? Math.min(1, study.spent / study.budget) : 0;
    this._bar.style.width = `${Math.round(fraction * 100)}%`;
    this._trials.textContent = progressText(study);
    this._best.textContent = `best ${study.metric} ${formatNumber(study.best_value)} (${study.mode})`;
    showAgo(this._updated, study.updated, 'updated ');
    const owner = ownerText(study);
    this._owner.textContent = [owner, showStorage ? study.storage : '']
      .filter(Boolean)
      .join(' · ');
    this._owner.hidden = !this._owner.textContent;
    // a study's error may be many lines (a traceback): its first and last line here, the
    // whole of it on hover and in the study view
    this._reason.textContent = study.error ? errorSummary(study.error) : study.state_note;
    this._reason.title = study.error;
    this._reason.hidden = !this._reason.textContent;
    const key = `${isActive(study.state)}:${study.best_value !== null}`;
    if (key !== this._actionsKey) {
      this._actionsKey = key;
      this._buildActions(study);
    }
  }

  private _buildActions(study: IStudySummary): void {
    const actions = this._actionsNode;
    actions.replaceChildren();
    const current = () => this._study ?? study;
    const button = (label: string, cls: string, run: () => Promise<void> | void) => {
      const b = element('button', `jp-Button jp-mod-styled jp-mod-minimal ${cls}`, label);
      b.addEventListener('click', async () => {
        b.disabled = true;
        try {
          await run();
        } catch (error) {
          await showErrorMessage(`${label} failed`, (error as Error).message);
        } finally {
          b.disabled = false;
        }
      });
      actions.appendChild(b);
    };
    button('Open', 'jp-hpo-open', () => this._actions.open(current()));
    if (isActive(study.state)) {
      button('Stop', 'jp-hpo-stop', () => this._model.stop(current()));
    } else {
      button('Delete', 'jp-hpo-delete', () => deleteStudy(this._model, current()));
    }
    if (study.best_value !== null) {
      button('Copy best', 'jp-hpo-copy', () => copyBest(this._model, current()));
    }
  }
}

/** Ask, then delete a study. */
async function deleteStudy(model: StudiesModel, study: IStudySummary): Promise<void> {
  const body = element('div');
  body.textContent =
    `Delete the study "${study.name}" and its ${study.trials} trials from ` +
    `${study.storage}? This cannot be undone.`;
  const result = await showDialog({
    title: 'Delete study',
    body: new Widget({ node: body }),
    buttons: [Dialog.cancelButton(), Dialog.warnButton({ label: 'Delete' })]
  });
  if (result.button.accept) {
    await model.remove(study);
  }
}

/** Copy the best configuration as JSON. */
export async function copyBest(model: StudiesModel, study: IStudySummary): Promise<void> {
  const full = await model.study(study.storage, study.name);
  Clipboard.copyToSystem(JSON.stringify(full.best_config ?? {}, null, 2));
}
