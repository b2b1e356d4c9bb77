/**
 * The study view's charts, drawn by Chart.js (canvas: study strings are never markup):
 * learning curves, the history of trial values and the incumbent over time. Hovering a point
 * shows its trial, status and configuration.
 */
import {
  Chart,
  ChartDataset,
  Filler,
  Legend,
  LinearScale,
  LineController,
  LineElement,
  PointElement,
  ScatterController,
  Title,
  Tooltip,
  TooltipItem
} from 'chart.js';

import { keepChoice, keptChoice } from './choices';

import { formatConfigValue, formatNumber, isActive, IStudy, ITrial, TrialStatus } from './types';

Chart.register(
  LineController,
  ScatterController,
  LineElement,
  PointElement,
  LinearScale,
  Tooltip,
  Legend,
  Title,
  Filler
);

/** A colour per trial status (as the dashboard's curves). */
export const STATUS_COLORS: Record<TrialStatus, string> = {
  running: '#1f77b4',
  paused: '#bcbd22',
  completed: '#2ca02c',
  stopped: '#ff7f0e',
  cancelled: '#7f7f7f',
  failed: '#d62728',
  interrupted: '#9467bd'
};

type Point = { x: number; y: number; trial: number };

/** The colours the charts take from the JupyterLab theme (its CSS variables). */
export interface IChartColors {
  best: string; // the best trial: the theme's strongest text colour (black, or white when dark)
  title: string;
  text: string;
  grid: string;
}

/** The current theme's chart colours (Chart.js's own are for a white page: the best trial's
 * black line and the grid could not be seen in a dark theme). */
export function themeColors(): IChartColors {
  const style = getComputedStyle(document.body);
  const value = (name: string, fallback: string) =>
    style.getPropertyValue(name).trim() || fallback;
  return {
    best: value('--jp-ui-font-color0', '#000000'),
    title: value('--jp-ui-font-color1', '#333333'),
    text: value('--jp-ui-font-color2', '#666666'),
    grid: value('--jp-border-color2', 'rgba(0, 0, 0, 0.1)')
  };
}

/** `colors` into a chart's options: its title, and the ticks, titles and grid of its axes. */
function applyColors(options: any, colors: IChartColors): void {
  options.plugins.title.color = colors.title;
  for (const axis of [options.scales.x, options.scales.y]) {
    axis.ticks.color = colors.text;
    axis.title.color = colors.text;
    axis.grid.color = colors.grid;
    axis.border.color = colors.grid;
  }
}

/** The trials' statuses in the order their datasets are drawn (the last on top). */
const STATUS_ORDER: TrialStatus[] = [
  'completed',
  'stopped',
  'cancelled',
  'interrupted',
  'failed',
  'paused',
  'running'
];

/** The learning curves' line styles, from the one drawn first to the one drawn on top. */
const CURVE_STYLES: (TrialStatus | 'best')[] = [...STATUS_ORDER, 'best'];

/** The history chart's datasets: the trials by status, then the best-so-far line. */
const HISTORY_STYLES: (TrialStatus | 'best so far')[] = [...STATUS_ORDER, 'best so far'];

/** Between two trials' curves in one dataset: no point, so no line joins them. */
const GAP: Point = { x: NaN, y: NaN, trial: -1 };

/** Up to how many points the learning curves draw their points (beyond, only the lines). */
const CURVE_POINTS_SHOWN = 2000;

function configLines(trial: ITrial | undefined): string[] {
  if (!trial) {
    return [];
  }
  return Object.entries(trial.config).map(([k, v]) => `${k} = ${formatConfigValue(v)}`);
}

function metricOf(report: { [key: string]: unknown }, metric: string): number | null {
  const value = report[metric];
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}

/** One chart of the study view; `update` replaces its data without animation. */
export abstract class StudyChart {
  readonly node: HTMLElement;
  protected chart: Chart | null = null;
  protected trials = new Map<number, ITrial>();
  protected colors = themeColors();
  private _canvas: HTMLCanvasElement;
  private _live: HTMLElement;
  private _empty: HTMLElement;
  private _drawnWith: unknown[] = []; // what the chart was last drawn with
  private _shown: IStudy | null = null; // the study it shows, drawn again on a theme change

  constructor(
    readonly title: string,
    className: string
  ) {
    this.node = document.createElement('div');
    this.node.className = `jp-hpo-chart ${className}`;
    this._canvas = document.createElement('canvas');
    this._canvas.setAttribute('role', 'img');
    this._canvas.setAttribute('aria-label', title);
    // The canvas tooltip's text, for screen readers (a canvas has no text of its own).
    this._live = document.createElement('div');
    this._live.className = 'jp-hpo-chart-hover';
    this._live.setAttribute('aria-live', 'polite');
    // Said over the empty axes while nothing is drawn: a failed study's charts were blank.
    this._empty = document.createElement('div');
    this._empty.className = 'jp-hpo-chart-empty';
    this._empty.hidden = true;
    this.node.append(this._canvas, this._live, this._empty);
  }

  /** Mirror the tooltip shown on the canvas as text. */
  private _announce(tooltip: any): void {
    if (!tooltip || tooltip.opacity === 0) {
      return;
    }
    const lines: string[] = [
      ...(tooltip.title ?? []),
      ...(tooltip.body ?? []).flatMap((b: { lines: string[] }) => b.lines),
      ...(tooltip.afterBody ?? [])
    ];
    this._live.textContent = lines.join('\n');
  }

  protected abstract datasets(study: IStudy): ChartDataset<'line' | 'scatter', Point[]>[];
  protected abstract axes(study: IStudy): { x: string; y: string };

  /** What the chart shows of `study`, in words: the canvas's accessible name. */
  protected heading(study: IStudy): string {
    return this.title;
  }

  /**
   * Show `study`. Chart.js is asked to update (and the canvas drawn again) only when a
   * dataset's data or an axis changed: datasets that keep their data keep the same array.
   */
  update(study: IStudy): void {
    this._shown = study;
    this.trials = new Map(study.trials_detail.map(t => [t.trial_id, t]));
    const datasets = this.datasets(study);
    const axes = this.axes(study);
    const heading = this.heading(study);
    this._canvas.setAttribute('aria-label', heading);
    const empty = datasets.every(d => d.data.every(point => !Number.isFinite(point.y)));
    this._empty.hidden = !empty;
    this._empty.textContent = !empty
      ? ''
      : isActive(study.state) || study.state === 'created'
        ? `No trial has reported ${study.metric} yet`
        : `No trial reported ${study.metric}`;
    const drawn = [axes.x, axes.y, ...datasets, ...datasets.map(d => d.data)];
    const same =
      drawn.length === this._drawnWith.length && drawn.every((d, i) => d === this._drawnWith[i]);
    if (this.chart && same) {
      return;
    }
    this._drawnWith = drawn;
    if (!this.chart) {
      this.chart = new Chart(this._canvas, {
        type: 'line',
        data: { datasets },
        options: {
          animation: false,
          responsive: true,
          maintainAspectRatio: false,
          parsing: false,
          normalized: true,
          interaction: { mode: 'nearest', intersect: false },
          plugins: {
            legend: { display: false },
            title: { display: true, text: this.title },
            tooltip: {
              external: context => this._announce(context.tooltip),
              callbacks: {
                title: items => this.tooltipTitle(items),
                label: item => this.tooltipLabel(item, study.metric),
                afterBody: items =>
                  configLines(this.trials.get((items[0]?.raw as Point | undefined)?.trial ?? -1))
              }
            }
          },
          scales: {
            x: {
              type: 'linear',
              title: { display: true, text: axes.x },
              ticks: axes.x === 'trial' ? { precision: 0 } : {},
              grid: {},
              border: {}
            },
            y: { type: 'linear', title: { display: true, text: axes.y }, ticks: {}, grid: {}, border: {} }
          }
        }
      });
      applyColors(this.chart.options, this.colors);
      this.chart.update('none');
    } else {
      this.chart.data.datasets = datasets;
      const scales = this.chart.options.scales as any;
      scales.x.title.text = axes.x;
      scales.y.title.text = axes.y;
      this.chart.update('none');
    }
  }

  protected tooltipTitle(items: TooltipItem<any>[]): string {
    const point = items[0]?.raw as Point | undefined;
    const trial = point ? this.trials.get(point.trial) : undefined;
    return trial ? `trial ${trial.trial_id} (${trial.status})` : '';
  }

  protected tooltipLabel(item: TooltipItem<any>, metric: string): string {
    const point = item.raw as Point;
    return `${metric} ${formatNumber(point.y)} at ${formatNumber(point.x)}`;
  }

  dispose(): void {
    this.chart?.destroy();
    this.chart = null;
  }

  /** Draw again in the colours of the theme (after the user changed it): a new Chart.js
   * chart, since the one drawn keeps the options it resolved for its points (the best
   * trial's point markers stayed black on the dark background). */
  restyle(): void {
    this.colors = themeColors();
    this.recolor();
    if (this.chart && this._shown) {
      this.dispose();
      this.update(this._shown);
    }
  }

  /** Give the datasets drawn in a theme colour the current one. */
  protected recolor(): void {
    // only the charts with a best-trial line have one
  }
}

/**
 * Every trial's metric (or another reported value, picked above the chart) against the
 * resource, coloured by status; the best trial by the metric in the theme's text colour.
 */
export class CurvesChart extends StudyChart {
  private _picker = document.createElement('select');
  private _picked: string | null = null; // the value the user picked; null: the metric
  private _drawn = '';
  private _study: IStudy | null = null;
  private _curves = new Map<number, { reports: number; drawn: string; points: Point[] }>();
  private _reported = new Map<number, { reports: number; keys: string[] }>();
  private _datasets = new Map<
    string,
    { dataset: ChartDataset<'line', Point[]>; curves: Point[][] }
  >();

  /** `memory`: the local-storage key the picked value is kept under (none: not kept). */
  constructor(private _memory: string | null = null) {
    super('Learning curves', 'jp-hpo-chart-curves');
    this._picked = _memory === null ? null : keptChoice(_memory);
    this._picker.className = 'jp-mod-styled jp-hpo-curves-value';
    this._picker.title = 'The reported value whose curves are drawn';
    this._picker.setAttribute('aria-label', 'Reported value drawn');
    this._picker.addEventListener('change', () => {
      this._picked = this._picker.value;
      if (this._memory !== null) {
        keepChoice(this._memory, this._picked === this._study?.metric ? null : this._picked);
      }
      if (this._study) {
        this.update(this._study);
      }
    });
    this.node.prepend(this._picker);
  }

  update(study: IStudy): void {
    this._study = study;
    const values = this._reportedValues(study);
    this._drawn =
      this._picked !== null && values.includes(this._picked) ? this._picked : study.metric;
    const options = Array.from(this._picker.options).map(o => o.value);
    if (options.join('\u0000') !== values.join('\u0000')) {
      this._picker.replaceChildren(
        ...values.map(value => {
          const option = document.createElement('option');
          option.value = value;
          option.textContent = value === study.metric ? `${value} (the metric)` : value;
          return option;
        })
      );
    }
    this._picker.value = this._drawn;
    this._picker.hidden = values.length < 2;
    super.update(study);
  }

  protected heading(study: IStudy): string {
    return this._drawn === study.metric
      ? this.title
      : `${this.title} of ${this._drawn} (thick line: the best trial by ${study.metric})`;
  }

  protected axes(study: IStudy): { x: string; y: string } {
    return { x: study.resource, y: this._drawn };
  }

  /**
   * One dataset per line style (a status, stopped trials dashed, the best trial), each
   * holding its trials' curves one after another with a gap between them: Chart.js's cost
   * grows with the number of datasets (with one per trial, a thousand trials took about half
   * a second per refresh), not much with the number of points. Each trial's points are made
   * again only when it has new reports, and a style's data only when one of its trials
   * changed; the canvas is drawn in one pass.
   */
  protected datasets(study: IStudy): ChartDataset<'line', Point[]>[] {
    const members = new Map<string, Point[][]>(CURVE_STYLES.map(style => [style, []]));
    const seen = new Set<number>();
    let points = 0;
    for (const trial of study.trials_detail) {
      seen.add(trial.trial_id);
      const curve = this._curve(trial, study.resource);
      points += curve.length;
      const style = trial.trial_id === study.best_trial ? 'best' : trial.status;
      members.get(style)!.push(curve);
    }
    for (const id of [...this._curves.keys()].filter(id => !seen.has(id))) {
      this._curves.delete(id);
    }
    this.node.dataset.points = String(points); // how many points the curves hold (for tests)
    // the points themselves only where they are few enough to be told apart
    const pointRadius = points <= CURVE_POINTS_SHOWN ? 1.5 : 0;
    return CURVE_STYLES.map((style, index) => {
      const curves = members.get(style)!;
      let dataset = this._datasets.get(style);
      if (!dataset) {
        const color = style === 'best' ? this.colors.best : STATUS_COLORS[style];
        dataset = {
          dataset: {
            type: 'line',
            label: style === 'best' ? 'the best trial' : `${style} trials`,
            data: [],
            parsing: { xAxisKey: 'x', yAxisKey: 'y' }, // its x values go back at each trial
            spanGaps: false,
            borderColor: color,
            backgroundColor: color,
            borderWidth: style === 'best' ? 3 : 1.5,
            borderDash: style === 'stopped' ? [4, 3] : [],
            pointRadius,
            order: CURVE_STYLES.length - 1 - index // Chart.js draws the lowest order last
          },
          curves: []
        };
        this._datasets.set(style, dataset);
      }
      const same =
        curves.length === dataset.curves.length && curves.every((c, i) => c === dataset!.curves[i]);
      if (!same) {
        dataset.curves = curves;
        const data: Point[] = [];
        for (const curve of curves) {
          if (data.length > 0) {
            data.push(GAP);
          }
          for (const point of curve) {
            data.push(point);
          }
        }
        dataset.dataset.data = data;
      }
      dataset.dataset.pointRadius = pointRadius;
      return dataset.dataset;
    });
  }

  protected recolor(): void {
    const best = this._datasets.get('best')?.dataset;
    if (best) {
      best.borderColor = best.backgroundColor = this.colors.best;
      best.pointBackgroundColor = best.pointBorderColor = this.colors.best;
    }
  }

  /** The numeric values the study's trials reported besides the resource, the metric first,
   * the others in natural order (each trial's reports are looked at again only when it has
   * new ones). */
  private _reportedValues(study: IStudy): string[] {
    const keys = new Set<string>();
    for (const trial of study.trials_detail) {
      let kept = this._reported.get(trial.trial_id);
      if (!kept || kept.reports !== trial.reports.length) {
        const found = new Set<string>();
        for (const report of trial.reports) {
          for (const key of Object.keys(report)) {
            if (key !== study.resource && metricOf(report, key) !== null) {
              found.add(key);
            }
          }
        }
        kept = { reports: trial.reports.length, keys: [...found] };
        this._reported.set(trial.trial_id, kept);
      }
      kept.keys.forEach(key => keys.add(key));
    }
    keys.delete(study.metric);
    // in natural order: acc_2 before acc_10, as a user numbers them
    const natural = (a: string, b: string) => a.localeCompare(b, 'en', { numeric: true });
    return [study.metric, ...[...keys].sort(natural)];
  }

  /** The points of `trial`'s curve of the value drawn, kept until it reports again. */
  private _curve(trial: ITrial, resource: string): Point[] {
    const kept = this._curves.get(trial.trial_id);
    if (kept && kept.reports === trial.reports.length && kept.drawn === this._drawn) {
      return kept.points;
    }
    const points: Point[] = [];
    trial.reports.forEach((report, i) => {
      const y = metricOf(report, this._drawn);
      const value = report[resource];
      const x = typeof value === 'number' ? value : i + 1;
      if (y !== null) {
        points.push({ x, y, trial: trial.trial_id });
      }
    });
    this._curves.set(trial.trial_id, { reports: trial.reports.length, drawn: this._drawn, points });
    return points;
  }

  protected tooltipLabel(item: TooltipItem<any>, metric: string): string {
    const point = item.raw as Point;
    return `${this._drawn || metric} ${formatNumber(point.y)} at ${formatNumber(point.x)}`;
  }
}

/** Each trial's best value against its number, coloured by status, and the best so far. */
export class HistoryChart extends StudyChart {
  private _datasets = new Map<
    string,
    { dataset: ChartDataset<'line' | 'scatter', Point[]>; key: string }
  >();

  constructor() {
    super('History', 'jp-hpo-chart-history');
  }

  protected axes(study: IStudy): { x: string; y: string } {
    return { x: 'trial', y: study.metric };
  }

  protected recolor(): void {
    const best = this._datasets.get('best so far')?.dataset;
    if (best) {
      best.borderColor = best.backgroundColor = this.colors.best;
    }
  }

  /**
   * One scatter dataset per status (options shared by all its points, which Chart.js then
   * resolves once, not once per point) and the best-so-far line; a dataset's data is replaced
   * only when its points changed.
   */
  protected datasets(study: IStudy): ChartDataset<'line' | 'scatter', Point[]>[] {
    const points = new Map<string, Point[]>(HISTORY_STYLES.map(style => [style, []]));
    let best: number | null = null;
    const sorted = [...study.trials_detail].sort((a, b) => a.trial_id - b.trial_id);
    for (const trial of sorted) {
      if (trial.best === null) {
        continue;
      }
      points.get(trial.status)!.push({ x: trial.trial_id, y: trial.best, trial: trial.trial_id });
      if (
        trial.status !== 'failed' &&
        (best === null || (study.mode === 'min' ? trial.best < best : trial.best > best))
      ) {
        best = trial.best;
      }
      if (best !== null) {
        points.get('best so far')!.push({ x: trial.trial_id, y: best, trial: trial.trial_id });
      }
    }
    return HISTORY_STYLES.map(style => {
      let kept = this._datasets.get(style);
      if (!kept) {
        const color = style === 'best so far' ? this.colors.best : STATUS_COLORS[style];
        const dataset: ChartDataset<'line' | 'scatter', Point[]> =
          style === 'best so far'
            ? {
                type: 'line',
                label: 'best so far',
                data: [],
                borderColor: color,
                backgroundColor: color,
                borderWidth: 1.5,
                stepped: 'before',
                pointRadius: 0
              }
            : {
                type: 'scatter',
                label: `${style} trials`,
                data: [],
                pointBackgroundColor: color,
                pointBorderColor: color,
                pointRadius: 4,
                pointHoverRadius: 6
              };
        kept = { dataset, key: '' };
        this._datasets.set(style, kept);
      }
      const data = points.get(style)!;
      const key = data.map(p => `${p.x}:${p.y}`).join(' ');
      if (key !== kept.key) {
        kept.key = key;
        kept.dataset.data = data;
      }
      return kept.dataset;
    });
  }

  protected tooltipLabel(item: TooltipItem<any>, metric: string): string {
    const point = item.raw as Point;
    const what = item.dataset.label === 'best so far' ? 'best so far' : 'best';
    return `${what} ${metric} ${formatNumber(point.y)}`;
  }
}

/** The best value against seconds since the study started. */
export class IncumbentChart extends StudyChart {
  constructor() {
    super('Incumbent over time', 'jp-hpo-chart-incumbent');
  }

  protected axes(study: IStudy): { x: string; y: string } {
    return { x: 'seconds since the start', y: `best ${study.metric}` };
  }

  protected datasets(study: IStudy): ChartDataset<'line', Point[]>[] {
    const data: Point[] = study.incumbents
      .filter(([, , value]) => value !== null)
      .map(([at, trial, value]) => ({ x: at, y: value as number, trial }));
    if (data.length > 0) {
      data.push({ ...data[data.length - 1], x: Math.max(study.elapsed, data[data.length - 1].x) });
    }
    return [
      {
        type: 'line',
        label: 'incumbent',
        data,
        borderColor: '#1f77b4',
        backgroundColor: '#1f77b4',
        stepped: 'before',
        pointRadius: 3,
        borderWidth: 2
      }
    ];
  }

  protected tooltipLabel(item: TooltipItem<any>, metric: string): string {
    const point = item.raw as Point;
    return `best ${metric} ${formatNumber(point.y)} after ${formatNumber(point.x)} s`;
  }
}
