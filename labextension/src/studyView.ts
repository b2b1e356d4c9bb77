/**
 * The study view (a main-area tab): progress, live learning curves, history and incumbent
 * charts, the trials table (sortable, filtered by text and status) and one trial's
 * configuration, reports, error and traceback. Refreshed every second while the study runs
 * and the view is visible; a refresh changes only what changed (a row's cells, new rows, the
 * curves of trials that reported). Every string from the study is set as text.
 */
import { showErrorMessage } from '@jupyterlab/apputils';
import { Widget } from '@lumino/widgets';

import { AgoTicker, showAgo } from './ago';
import { CurvesChart, HistoryChart, IncumbentChart, StudyChart } from './charts';
import { keepChoice, keptChoice } from './choices';
import { HPORequestError } from './handler';
import { StudiesModel, RUNNING_INTERVAL } from './model';
import { ownerText, progressText } from './panel';
import {
  element,
  formatDuration,
  formatNumber,
  formatConfigValue,
  formatValue,
  isActive,
  IStudy,
  ITrial,
  TrialStatus
} from './types';

type Column = {
  id: string;
  label: string;
  value: (t: ITrial) => string | number | null;
  text: (t: ITrial) => string;
};

/** A row of the trials table: its node, the texts of its cells and the status it shows. */
interface ITableRow {
  tr: HTMLTableRowElement;
  texts: string[];
  status: TrialStatus | null;
}

/** The name of the `performance.measure` entry of the view's last render. */
export const RENDER_MEASURE = 'jupyter-hpo:study-view-render';

/** The widget id of the view of a study. */
export function studyViewId(storage: string, name: string): string {
  let hash = 0;
  for (const c of `${storage}\u0000${name}`) {
    hash = (hash * 31 + c.codePointAt(0)!) | 0;
  }
  return `jupyter-hpo-study-${(hash >>> 0).toString(36)}`;
}

export class StudyView extends Widget {
  private _study: IStudy | null = null;
  private _timer: number | null = null;
  private _charts: StudyChart[];
  private _header = element('div', 'jp-hpo-view-header');
  private _title = element('h2', 'jp-hpo-view-title');
  private _state = element('span', 'jp-hpo-badge');
  private _facts = element('div', 'jp-hpo-view-facts');
  private _bar = element('div', 'jp-hpo-progress-bar');
  private _stop = element('button', 'jp-Button jp-mod-styled jp-mod-warn jp-hpo-view-stop', 'Stop study');
  private _message = element('div', 'jp-hpo-error-text');
  private _filter = element('input', 'jp-mod-styled jp-hpo-filter');
  private _statusFilter = element('select', 'jp-mod-styled jp-hpo-status-filter');
  private _table = element('table', 'jp-hpo-trials');
  private _body = element('tbody');
  private _rows = new Map<number, ITableRow>();
  private _detailKey = '';
  private _stale = false; // a refresh was skipped while the view was hidden
  private _detail = element('div', 'jp-hpo-trial-detail');
  private _sortColumn = 'trial_id';
  private _sortAscending = true;
  private _selected: number | null = null;
  private _tabStop: HTMLTableRowElement | null = null; // the one row reached by Tab
  private _columnsKey = '';
  private _ticker = new AgoTicker(this);
  private _requestProblem = '';
  private _storageProblem = '';
  /** Close, rather than say "no study named ...", when the study is not found at the first
   * read: a view the page reopened after a reload, of a study deleted meanwhile. */
  closeIfMissing = false;

  constructor(
    private _model: StudiesModel,
    readonly storage: string,
    readonly name: string
  ) {
    super();
    this.id = studyViewId(storage, name);
    // the curves' value and the table's order are kept per study across reloads
    this._charts = [new CurvesChart(`${this.id}:curves`), new HistoryChart(), new IncumbentChart()];
    const sort = parsedSort(keptChoice(`${this.id}:sort`));
    if (sort) {
      [this._sortColumn, this._sortAscending] = sort;
    }
    this.addClass('jp-hpo-view');
    this.title.label = name;
    this.title.caption = `${name} (${storage})`;
    this.title.closable = true;

    const top = element('div', 'jp-hpo-view-top');
    top.append(this._title, this._state, this._stop);
    this._stop.addEventListener('click', () => void this._stopStudy());
    const progress = element('div', 'jp-hpo-progress jp-hpo-view-progress');
    progress.appendChild(this._bar);
    this._header.append(top, progress, this._facts, this._message);

    const charts = element('div', 'jp-hpo-charts');
    for (const chart of this._charts) {
      charts.appendChild(chart.node);
    }

    const tools = element('div', 'jp-hpo-table-tools');
    this._filter.placeholder = 'Filter trials (any text: a value, a status, an error)';
    this._filter.type = 'search';
    this._filter.addEventListener('input', () => this._renderTable());
    for (const status of ['all', 'running', 'paused', 'completed', 'stopped', 'cancelled', 'failed', 'interrupted']) {
      const option = element('option', '', status === 'all' ? 'every status' : status);
      option.value = status;
      this._statusFilter.appendChild(option);
    }
    this._statusFilter.addEventListener('change', () => this._renderTable());
    tools.append(this._filter, this._statusFilter);
    this._body.addEventListener('click', event => this._select(event));
    this._body.addEventListener('keydown', event => this._onRowKey(event));
    const tableBox = element('div', 'jp-hpo-table-box');
    tableBox.appendChild(this._table);
    const lower = element('div', 'jp-hpo-lower');
    const left = element('div', 'jp-hpo-table-side');
    left.append(tools, tableBox);
    lower.append(left, this._detail);
    this.node.append(this._header, charts, lower);
    this._detail.appendChild(element('div', 'jp-hpo-empty', 'Select a trial to see its configuration, reports and traceback.'));
    _model.changed.connect(this._showStorageProblem, this);
  }

  /** The listing says the study's storage file cannot be read now (damaged, locked): say so
   * above the study as it was last read, until the file can be read again. */
  private _showStorageProblem(): void {
    const storage = this._model.listing?.storages.find(s => s.path === this.storage);
    this._storageProblem = storage?.error ?? '';
    this._showMessage();
  }

  private _showMessage(): void {
    this._message.textContent = this._requestProblem || this._storageProblem;
  }

  get study(): IStudy | null {
    return this._study;
  }

  /** Draw the charts again in the colours of the theme (after the user changed it). */
  restyle(): void {
    this._charts.forEach(chart => chart.restyle());
  }

  protected onAfterAttach(): void {
    void this.refresh();
    this._ticker.start(); // "updated … ago" keeps counting once the study is no longer read
  }

  protected onBeforeDetach(): void {
    this._clearTimer();
    this._ticker.stop();
  }

  /** A view that was hidden while its study ran (a tab behind another) reads it again. */
  protected onAfterShow(): void {
    if (this._stale) {
      void this.refresh();
    }
  }

  dispose(): void {
    this._model.changed.disconnect(this._showStorageProblem, this);
    this._clearTimer();
    this._ticker.stop();
    this._charts.forEach(c => c.dispose());
    super.dispose();
  }

  private _clearTimer(): void {
    if (this._timer !== null) {
      window.clearTimeout(this._timer);
      this._timer = null;
    }
    this._showReading();
  }

  /** Say on the node whether a read is scheduled or skipped while hidden (tests wait on it). */
  private _showReading(): void {
    this.node.dataset.reading =
      this._timer !== null ? 'scheduled' : this._stale ? 'stale' : 'idle';
  }

  /** Load the study again (and again every second while it runs and the view is visible). */
  async refresh(): Promise<void> {
    this._clearTimer();
    this._stale = false;
    try {
      this._study = await this._model.study(this.storage, this.name);
      this._requestProblem = '';
    } catch (error) {
      if (this.closeIfMissing && !this._study && (error as HPORequestError).status === 404) {
        this.dispose();
        return;
      }
      this._requestProblem = (error as Error).message;
    }
    if (this.isDisposed) {
      return;
    }
    this._showMessage();
    this._render();
    if (this.isAttached && (!this._study || isActive(this._study.state))) {
      this._timer = window.setTimeout(() => {
        this._timer = null;
        if (this.isVisible) {
          void this.refresh();
        } else {
          this._stale = true; // hidden: nothing is read until it is shown again
          this._showReading();
        }
      }, RUNNING_INTERVAL);
    }
    this._showReading();
  }

  private async _stopStudy(): Promise<void> {
    if (!this._study) {
      return;
    }
    this._stop.disabled = true;
    try {
      await this._model.stop(this._study);
    } catch (error) {
      await showErrorMessage('Stop failed', (error as Error).message);
    }
    await this.refresh();
  }

  private _render(): void {
    const study = this._study;
    if (!study) {
      return;
    }
    const start = performance.now();
    this._title.textContent = study.name;
    this._state.className = `jp-hpo-badge jp-hpo-badge-${study.state}`;
    this._state.textContent = study.state;
    this._stop.hidden = !isActive(study.state);
    this._stop.disabled = study.state === 'stopping';
    const fraction = study.budget ? Math.min(1, study.spent / study.budget) : 0;
    this._bar.style.width = `${Math.round(fraction * 100)}%`;
    const facts = [
      progressText(study),
      `best ${study.metric} ${formatNumber(study.best_value)} (${study.mode === 'min' ? 'lower' : 'higher'} is better)` +
        (study.best_trial !== null ? ` · trial ${study.best_trial}` : ''),
      '', // elapsed and updated, below
      [ownerText(study), study.storage].filter(Boolean).join(' · ')
    ];
    if (study.state_note) {
      facts.push(study.state_note);
    }
    if (study.error) {
      facts.push(study.error);
    }
    const nodes = facts.map(f => element('div', 'jp-hpo-fact', f));
    if (study.error) {
      // its lines as they are (a traceback), on a row of its own
      nodes[nodes.length - 1].classList.add('jp-hpo-study-error');
    }
    showAgo(nodes[2], study.updated, `elapsed ${formatDuration(study.elapsed)} · updated `);
    this._facts.replaceChildren(...nodes);
    if (this.isAttached) {
      for (const chart of this._charts) {
        chart.update(study);
      }
    }
    this._renderTable();
    this._renderDetail();
    // what the render took (script only: layout and paint come after), for
    // benchmarks/lab_refresh.py; only the last one is kept, so nothing piles up
    try {
      performance.clearMeasures(RENDER_MEASURE);
      performance.measure(RENDER_MEASURE, { start, end: performance.now() });
    } catch {
      // a browser without User Timing level 3: nothing measured
    }
  }

  private _columns(study: IStudy): Column[] {
    const names = Object.keys(study.space);
    for (const trial of study.trials_detail) {
      for (const key of Object.keys(trial.config)) {
        if (!names.includes(key)) {
          names.push(key);
        }
      }
    }
    const last = (t: ITrial) => {
      const r = t.reports[t.reports.length - 1];
      const v = r ? r[study.resource] : null;
      return typeof v === 'number' ? v : null;
    };
    const duration = (t: ITrial) =>
      (t.end_time ?? Date.now() / 1000) - t.start_time;
    const columns: Column[] = [
      { id: 'trial_id', label: 'trial', value: t => t.trial_id, text: t => String(t.trial_id) },
      { id: 'status', label: 'status', value: t => t.status, text: t => t.status },
      ...names.map(name => ({
        id: `config.${name}`,
        label: name,
        value: (t: ITrial) => {
          const v = t.config[name];
          // inactive (a conditional hyperparameter): missing, so sorted last
          return typeof v === 'number' ? v : v === undefined ? null : formatConfigValue(v);
        },
        text: (t: ITrial) => formatConfigValue(t.config[name])
      })),
      { id: 'metric', label: study.metric, value: t => t.best, text: t => formatNumber(t.best) },
      { id: 'resource', label: study.resource, value: last, text: t => formatNumber(last(t)) },
      { id: 'duration', label: 'duration', value: duration, text: t => formatDuration(duration(t)) },
      { id: 'error', label: 'error', value: t => t.error, text: t => t.error.split('\n')[0] }
    ];
    return columns;
  }

  /**
   * The trials table, updated in place: a row is made once per trial and kept (with its DOM
   * node) across refreshes; only the cells whose text changed are written, new trials get a
   * row, and rows are moved only where the order changed. A study of a thousand trials used
   * to be drawn again, row by row, every second.
   */
  private _renderTable(): void {
    const study = this._study;
    if (!study) {
      return;
    }
    const columns = this._columns(study);
    const key = JSON.stringify(columns.map(c => [c.id, c.label]));
    if (key !== this._columnsKey) {
      this._columnsKey = key;
      this._table.replaceChildren(this._tableHead(columns), this._body);
      this._body.replaceChildren();
      this._rows.clear();
    }
    this._showSortColumn();
    const text = this._filter.value.trim().toLowerCase();
    const status = this._statusFilter.value as TrialStatus | 'all';
    const column = columns.find(c => c.id === this._sortColumn) ?? columns[0];
    const shown: { trial: ITrial; row: ITableRow }[] = [];
    const seen = new Set<number>();
    for (const trial of study.trials_detail) {
      seen.add(trial.trial_id);
      const texts = columns.map(c => c.text(trial));
      const row = this._row(trial, texts);
      if (
        (status === 'all' || trial.status === status) &&
        (!text || texts.some(t => t.toLowerCase().includes(text)))
      ) {
        shown.push({ trial, row });
      }
    }
    for (const id of [...this._rows.keys()].filter(id => !seen.has(id))) {
      this._rows.get(id)!.tr.remove();
      this._rows.delete(id);
    }
    const values = new Map(shown.map(({ trial }) => [trial.trial_id, column.value(trial)]));
    shown.sort((a, b) => {
      const va = values.get(a.trial.trial_id)!;
      const vb = values.get(b.trial.trial_id)!;
      if (va === null || vb === null) {
        return va === null ? (vb === null ? 0 : 1) : -1; // missing values last in both directions
      }
      const order =
        typeof va === 'number' && typeof vb === 'number'
          ? va - vb
          : String(va).localeCompare(String(vb));
      return this._sortAscending ? order : -order;
    });
    // the rows in that order, moving only those out of place (unchanged rows stay put, and so
    // do the scroll position, the hover and a text selection in them)
    let next: ChildNode | null = this._body.firstChild;
    for (const { row } of shown) {
      if (row.tr === next) {
        next = next.nextSibling;
      } else {
        this._body.insertBefore(row.tr, next);
      }
    }
    while (next) {
      const after: ChildNode | null = next.nextSibling;
      next.remove(); // filtered out: kept in `_rows` for when the filter changes
      next = after;
    }
    if (shown.length === 0) {
      // an empty table says why (it was a row of headers and nothing else)
      const why =
        study.trials_detail.length === 0
          ? 'No trials yet: they appear here as they start.'
          : `No trial matches the filter (${study.trials_detail.length} trials in all).`;
      const cell = element('td', '', why);
      cell.colSpan = columns.length;
      const row = element('tr', 'jp-hpo-table-empty');
      row.appendChild(cell);
      this._body.appendChild(row);
    }
    this._moveTabStop();
  }

  /**
   * The rows are one stop of the Tab key (a roving tabindex): the selected trial's row when
   * it is shown, else the first row; the arrow keys, Home and End go from row to row.
   */
  private _moveTabStop(): void {
    const selected = this._selected === null ? undefined : this._rows.get(this._selected)?.tr;
    const stop =
      selected && selected.parentNode === this._body
        ? selected
        : this._body.querySelector<HTMLTableRowElement>('tr.jp-hpo-trial-row');
    if (stop === this._tabStop) {
      return;
    }
    if (this._tabStop) {
      this._tabStop.tabIndex = -1;
    }
    this._tabStop = stop;
    if (stop) {
      stop.tabIndex = 0;
    }
  }

  /** Keys on a row: Enter or Space selects it; the arrows, Home and End select another. */
  private _onRowKey(event: KeyboardEvent): void {
    const tr = (event.target as Element).closest<HTMLTableRowElement>('tr.jp-hpo-trial-row');
    if (!tr || tr.parentNode !== this._body) {
      return;
    }
    const rows = this._body.querySelectorAll('tr.jp-hpo-trial-row');
    let target: Element | null = null;
    switch (event.key) {
      case 'Enter':
      case ' ':
        target = tr;
        break;
      case 'ArrowDown':
        target = tr.nextElementSibling ?? tr;
        break;
      case 'ArrowUp':
        target = tr.previousElementSibling ?? tr;
        break;
      case 'Home':
        target = rows[0];
        break;
      case 'End':
        target = rows[rows.length - 1];
        break;
      default:
        return;
    }
    event.preventDefault();
    event.stopPropagation();
    this._selectRow(target as HTMLTableRowElement);
    (target as HTMLTableRowElement).focus();
  }

  /** The row of `trial`, made or brought up to date with the cells' `texts`. */
  private _row(trial: ITrial, texts: string[]): ITableRow {
    let row = this._rows.get(trial.trial_id);
    if (!row) {
      const tr = element('tr');
      tr.dataset.trial = String(trial.trial_id);
      tr.tabIndex = -1;
      row = { tr, texts: [], status: null };
      for (const t of texts) {
        const cell = element('td', '', t);
        cell.title = t; // a long value is cut in its cell, whole on hover
        tr.appendChild(cell);
      }
      row.texts = texts;
      this._rows.set(trial.trial_id, row);
    } else {
      const cells = row.tr.cells;
      texts.forEach((t, i) => {
        if (row!.texts[i] !== t) {
          cells[i].textContent = t;
          cells[i].title = t;
        }
      });
      row.texts = texts;
    }
    if (row.status !== trial.status) {
      row.status = trial.status;
      row.tr.className = `jp-hpo-trial-row jp-hpo-status-${trial.status}`;
      row.tr.classList.toggle('jp-mod-selected', trial.trial_id === this._selected);
      row.tr.setAttribute('aria-selected', String(trial.trial_id === this._selected));
    }
    return row;
  }

  private _tableHead(columns: Column[]): HTMLTableSectionElement {
    const head = element('thead');
    const row = element('tr');
    for (const column of columns) {
      const th = element('th', 'jp-hpo-sortable', column.label);
      th.dataset.column = column.id;
      th.title = 'Sort by this column (Enter or Space from the keyboard)';
      th.tabIndex = 0;
      th.addEventListener('click', () => this._sortBy(column.id));
      th.addEventListener('keydown', event => {
        if (event.key === 'Enter' || event.key === ' ') {
          event.preventDefault();
          event.stopPropagation();
          this._sortBy(column.id);
        }
      });
      row.appendChild(th);
    }
    head.appendChild(row);
    return head;
  }

  /** Sort by the column `id`, or the other way round when the table is sorted by it already. */
  private _sortBy(id: string): void {
    if (this._sortColumn === id) {
      this._sortAscending = !this._sortAscending;
    } else {
      this._sortColumn = id;
      this._sortAscending = true;
    }
    const initial = this._sortColumn === 'trial_id' && this._sortAscending;
    keepChoice(
      `${this.id}:sort`,
      initial ? null : JSON.stringify([this._sortColumn, this._sortAscending])
    );
    this._renderTable();
  }

  /** The sort arrow and `aria-sort` on the header of the column the table is sorted by. */
  private _showSortColumn(): void {
    for (const th of Array.from(this._table.tHead?.rows[0]?.cells ?? [])) {
      const sorted = th.dataset.column === this._sortColumn;
      th.classList.toggle('jp-hpo-sorted-up', sorted && this._sortAscending);
      th.classList.toggle('jp-hpo-sorted-down', sorted && !this._sortAscending);
      if (sorted) {
        th.setAttribute('aria-sort', this._sortAscending ? 'ascending' : 'descending');
      } else {
        th.removeAttribute('aria-sort');
      }
    }
  }

  /** A click on a row selects its trial. */
  private _select(event: MouseEvent): void {
    const tr = (event.target as Element).closest<HTMLTableRowElement>('tr.jp-hpo-trial-row');
    if (!tr || !this._body.contains(tr)) {
      return;
    }
    this._selectRow(tr);
  }

  /** Select the trial of the row `tr` and show its details. */
  private _selectRow(tr: HTMLTableRowElement): void {
    if (this._selected !== null) {
      const previous = this._rows.get(this._selected)?.tr;
      previous?.classList.remove('jp-mod-selected');
      previous?.setAttribute('aria-selected', 'false');
    }
    this._selected = Number(tr.dataset.trial);
    tr.classList.add('jp-mod-selected');
    tr.setAttribute('aria-selected', 'true');
    this._moveTabStop();
    this._detailKey = '';
    this._renderDetail();
  }

  /** The selected trial's details, made again only when the trial changed. */
  private _renderDetail(): void {
    const study = this._study;
    const trial = study?.trials_detail.find(t => t.trial_id === this._selected);
    if (!study || !trial) {
      return;
    }
    const key = JSON.stringify([
      trial.trial_id,
      trial.status,
      trial.reports.length,
      trial.times.length,
      trial.best,
      trial.end_time,
      trial.error,
      trial.traceback,
      trial.resources,
      trial.device,
      study.metric,
      // a running trial's duration counts on
      trial.end_time === null ? Math.round(Date.now() / 1000) : null
    ]);
    if (key === this._detailKey) {
      return;
    }
    this._detailKey = key;
    const nodes: HTMLElement[] = [];
    nodes.push(element('h3', '', `Trial ${trial.trial_id} · ${trial.status}`));
    const facts = [
      `best ${study.metric} ${formatNumber(trial.best)}`,
      `ran on ${trial.resources || trial.device}`,
      `started ${new Date(trial.start_time * 1000).toLocaleTimeString()}`,
      `duration ${formatDuration((trial.end_time ?? Date.now() / 1000) - trial.start_time)}`
    ];
    nodes.push(element('div', 'jp-hpo-fact', facts.join(' · ')));
    nodes.push(element('h4', '', 'Configuration'));
    const config = element('table', 'jp-hpo-config');
    for (const [k, v] of Object.entries(trial.config)) {
      const tr = element('tr');
      tr.append(element('th', '', k), element('td', '', formatConfigValue(v)));
      config.appendChild(tr);
    }
    nodes.push(config);
    nodes.push(element('h4', '', `Reports (${trial.reports.length})`));
    const keys: string[] = [];
    for (const r of trial.reports) {
      for (const k of Object.keys(r)) {
        if (!keys.includes(k)) {
          keys.push(k);
        }
      }
    }
    const reports = element('table', 'jp-hpo-reports');
    const head = element('tr');
    for (const k of [...keys, 'time (s)']) {
      head.appendChild(element('th', '', k));
    }
    reports.appendChild(head);
    trial.reports.forEach((r, i) => {
      const tr = element('tr');
      for (const k of keys) {
        tr.appendChild(element('td', '', formatValue(r[k])));
      }
      tr.appendChild(element('td', '', formatNumber(trial.times[i] ?? null)));
      reports.appendChild(tr);
    });
    nodes.push(reports);
    if (trial.error) {
      nodes.push(element('h4', '', 'Error'));
      nodes.push(element('pre', 'jp-hpo-trial-error', trial.error));
    }
    if (trial.traceback) {
      const details = element('details', 'jp-hpo-traceback');
      details.open = true;
      details.appendChild(element('summary', '', 'Traceback'));
      details.appendChild(element('pre', '', trial.traceback));
      nodes.push(details);
    }
    this._detail.replaceChildren(...nodes);
  }
}

/** A kept table order, `[column, ascending]`, or null when `text` is not one. */
function parsedSort(text: string | null): [string, boolean] | null {
  try {
    const value: unknown = JSON.parse(text ?? 'null');
    if (Array.isArray(value) && typeof value[0] === 'string' && typeof value[1] === 'boolean') {
      return [value[0], value[1]];
    }
  } catch {
    // not JSON: the default order
  }
  return null;
}
