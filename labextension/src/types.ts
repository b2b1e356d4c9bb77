/** The JSON the server extension answers with (see jupyter_hpo/server/serialize.py). */

export type StudyState =
  | 'created'
  | 'running'
  | 'stopping'
  | 'finished'
  | 'failed'
  | 'interrupted';

export type TrialStatus =
  | 'running'
  | 'paused'
  | 'completed'
  | 'stopped'
  | 'cancelled'
  | 'failed'
  | 'interrupted';

export type Value = null | boolean | number | string | Value[] | { [k: string]: Value };

/** The kernel of this server that runs a study, when it is one. */
export interface IKernelInfo {
  kernel_id: string;
  kernel_name: string | null;
  path: string | null;
}

/** One study as the studies panel lists it. */
export interface IStudySummary {
  storage: string;
  name: string;
  metric: string;
  mode: 'min' | 'max';
  resource: string;
  state: StudyState;
  trials: number; // stored trials, every status
  spent: number; // trials that count against the budget (interrupted ones run again)
  counts: { [status: string]: number }; // trials per status
  budget: number | null;
  best_value: number | null;
  created: number;
  updated: number;
  elapsed: number;
  owner: string | null;
  kernel?: IKernelInfo | null;
  error: string;
  stop_reason: string;
  state_note: string; // why it stopped, or how to resume a study whose kernel stopped
  settings: { [key: string]: Value };
}

export interface IStorageInfo {
  path: string;
  error: string | null;
  read_only: boolean;
  locked: boolean; // another process keeps it locked: asked for again, as it may not be for long
  studies: number;
}

export interface IListing {
  root: string;
  storages: IStorageInfo[];
  studies: IStudySummary[];
  running: number;
  notes: string[];
  time: number;
}

export interface ITrial {
  trial_id: number;
  status: TrialStatus;
  config: { [key: string]: Value };
  reports: { [key: string]: Value }[];
  times: (number | null)[];
  best: number | null;
  start_time: number;
  end_time: number | null;
  error: string;
  traceback: string;
  device: string;
  resources: string;
  bracket: number;
}

export interface IStudy extends IStudySummary {
  space: { [name: string]: { [key: string]: Value } };
  trials_detail: ITrial[];
  incumbents: [number, number, number | null][];
  best_trial: number | null;
  best_config: { [key: string]: Value } | null;
}

export interface IAnnotationInfo {
  name: string;
  domain: string;
  form: string;
  lineno: number;
  col: number;
  end_lineno: number;
  end_col: number;
  evaluated: boolean;
}

export interface IErrorInfo {
  message: string;
  reason: string;
  lineno: number;
  col: number;
  end_lineno: number;
  end_col: number;
}

export interface IDiagnostics {
  magic: boolean;
  annotations: IAnnotationInfo[];
  errors: IErrorInfo[];
}

/** Whether trials of a study in this state may still report. */
export function isActive(state: StudyState): boolean {
  return state === 'running' || state === 'stopping';
}

/** A value as text (objects as JSON), never as markup. */
export function formatValue(value: Value | undefined): string {
  if (value === null || value === undefined) {
    return '';
  }
  if (typeof value === 'number') {
    return formatNumber(value);
  }
  if (typeof value === 'string') {
    return value;
  }
  return JSON.stringify(value);
}

/**
 * A hyperparameter's value as Python shows it (the cell dashboard prints `str(value)`):
 * `None`, `True`, `False`, a string as it is, lists and dicts with their strings quoted
 * (`['relu', None]`, `{'a': 1}`); objects arrive as their `repr`. `undefined` (a conditional
 * hyperparameter that is not active in the trial) is `–`, so that it differs from `None`.
 */
export function formatConfigValue(value: Value | undefined): string {
  if (value === undefined) {
    return '–';
  }
  return typeof value === 'string' ? value : pythonRepr(value);
}

function pythonRepr(value: Value): string {
  if (value === null) {
    return 'None';
  }
  if (typeof value === 'boolean') {
    return value ? 'True' : 'False';
  }
  if (typeof value === 'number') {
    return formatNumber(value);
  }
  if (typeof value === 'string') {
    const quote = value.includes("'") && !value.includes('"') ? '"' : "'";
    const escaped = value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
    return quote + (quote === "'" ? escaped.replace(/'/g, "\\'") : escaped) + quote;
  }
  if (Array.isArray(value)) {
    return `[${value.map(pythonRepr).join(', ')}]`;
  }
  return `{${Object.entries(value)
    .map(([k, v]) => `${pythonRepr(k)}: ${pythonRepr(v)}`)
    .join(', ')}}`;
}

/** A number with at most 4 significant digits (integers as they are). */
export function formatNumber(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) {
    return '–';
  }
  if (Number.isInteger(value) && Math.abs(value) < 1e6) {
    return String(value);
  }
  const abs = Math.abs(value);
  if (abs !== 0 && (abs < 1e-3 || abs >= 1e6)) {
    return value.toExponential(3);
  }
  return String(Number(value.toPrecision(4)));
}

/** Seconds as "1h 02m", "3m 05s" or "12s". */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const r = s % 60;
  if (h > 0) {
    return `${h}h ${String(m).padStart(2, '0')}m`;
  }
  if (m > 0) {
    return `${m}m ${String(r).padStart(2, '0')}s`;
  }
  return `${r}s`;
}

/** "5s ago", "3m ago", or a date for older times. */
export function formatAgo(epochSeconds: number, now: number = Date.now() / 1000): string {
  const ago = Math.max(0, now - epochSeconds);
  if (ago < 60) {
    return `${Math.round(ago)}s ago`;
  }
  if (ago < 3600) {
    return `${Math.round(ago / 60)}m ago`;
  }
  if (ago < 86400) {
    return `${Math.round(ago / 3600)}h ago`;
  }
  return new Date(epochSeconds * 1000).toLocaleString();
}

/** `el` with `text` as its text content (never parsed as HTML). */
export function element<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  className = '',
  text?: string
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  if (className) {
    el.className = className;
  }
  if (text !== undefined) {
    el.textContent = text;
  }
  return el;
}
