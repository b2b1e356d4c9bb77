/**
 * `%%hpo` diagnostics in the editor: in a cell whose first line is `%%hpo`, every annotation
 * is highlighted and every bad one underlined with the message the magic would print, and a
 * `%%hpo` below the first line is underlined with the magic's "must be the first line"; the
 * cell is checked by the server's parser (no kernel) 300 ms after the last keystroke.
 * Hovering an annotation shows its domain, hovering an error its message.
 */
import { Extension, Range, StateEffect, StateField, Text } from '@codemirror/state';
import {
  Decoration,
  DecorationSet,
  EditorView,
  hoverTooltip,
  ViewPlugin,
  ViewUpdate
} from '@codemirror/view';

import { postAPI } from './handler';
import { IDiagnostics } from './types';

/** Milliseconds between the last keystroke and the check. */
export const DEBOUNCE = 300;

/** A `%%hpo` line anywhere in the cell (the server says whether it is well placed). */
const MAGIC = /^\s*%%hpo(\s|$)/m;

/** Text whose underline cannot be seen: white space (the space an "unexpected indent" points
 * at) and control characters, which CodeMirror shows as a widget that marks leave out. */
const INVISIBLE = /^[\s\u0000-\u001f\u007f]+$/;

/** The MIME type of an editor of IPython code: a Python notebook's code cells, a console. */
export const IPYTHON_MIME = 'text/x-ipython';

/**
 * Whether an editor holds IPython code, asked before each check, and a signal of its changes
 * (a notebook's kernel changed language). Markdown and raw cells and other files are not
 * checked: `%%hpo` there is text (documentation of the magic), not a cell the magic runs.
 */
export interface IEditorKind {
  isIPython(): boolean;
  changed(callback: () => void): () => void;
}

/** One marked range: an annotation (with its domain) or an error (with its message). */
interface IMark {
  from: number;
  to: number;
  kind: 'annotation' | 'error';
  text: string;
}

const setMarks = StateEffect.define<IMark[]>();

function decorations(marks: IMark[]): DecorationSet {
  const ranges: Range<Decoration>[] = [];
  for (const mark of marks) {
    if (mark.to <= mark.from) {
      continue;
    }
    const deco = Decoration.mark({
      class: mark.kind === 'error' ? 'jp-hpo-error cm-lintRange cm-lintRange-error' : 'jp-hpo-annotation',
      attributes: mark.kind === 'error' ? { 'data-hpo-message': mark.text } : { 'data-hpo-domain': mark.text }
    });
    ranges.push(deco.range(mark.from, mark.to));
  }
  return Decoration.set(ranges, true);
}

const marksField = StateField.define<{ marks: IMark[]; deco: DecorationSet }>({
  create: () => ({ marks: [], deco: Decoration.none }),
  update(value, tr) {
    let { marks, deco } = value;
    if (tr.docChanged) {
      marks = marks.map(m => ({
        ...m,
        from: tr.changes.mapPos(m.from, 1),
        to: tr.changes.mapPos(m.to, -1)
      }));
      deco = deco.map(tr.changes);
    }
    for (const effect of tr.effects) {
      if (effect.is(setMarks)) {
        marks = effect.value;
        deco = decorations(marks);
      }
    }
    return { marks, deco };
  },
  provide: field => EditorView.decorations.from(field, v => v.deco)
});

/** The document offset of a 1-based line and a 0-based column counted in code points. */
function offset(doc: Text, lineno: number, col: number): number {
  if (lineno < 1) {
    return 0;
  }
  if (lineno > doc.lines) {
    return doc.length;
  }
  const line = doc.line(lineno);
  let units = 0;
  let points = 0;
  for (const ch of line.text) {
    if (points >= col) {
      break;
    }
    units += ch.length;
    points += 1;
  }
  return line.from + units;
}

/** The marks of a diagnosis, in offsets of `doc`. */
export function marksOf(doc: Text, diagnostics: IDiagnostics): IMark[] {
  const marks: IMark[] = [];
  for (const a of diagnostics.annotations) {
    marks.push({
      from: offset(doc, a.lineno, a.col),
      to: offset(doc, a.end_lineno, a.end_col),
      kind: 'annotation',
      text: `${a.name}: ${a.domain}` + (a.evaluated ? '' : ' (checked when the cell runs)')
    });
  }
  for (const e of diagnostics.errors) {
    let from = offset(doc, e.lineno, e.col);
    let to = offset(doc, e.end_lineno, e.end_col);
    if (to <= from) {
      // an error at the end of a line or of the cell: underline the character before it
      to = Math.min(doc.length, from + 1);
      if (to <= from) {
        from = Math.max(0, to - 1);
      }
    }
    if (INVISIBLE.test(doc.sliceString(from, to))) {
      // a space, or a NUL drawn as a widget that a mark does not underline: the whole
      // line is, so that the error is seen (and its message hovered)
      const line = doc.lineAt(from);
      from = Math.min(from, line.from);
      to = Math.max(to, line.to);
    }
    marks.push({ from, to, kind: 'error', text: e.message });
  }
  return marks;
}

const checker = (kind: IEditorKind | null) => ViewPlugin.fromClass(
  class {
    private _timer: number | null = null;
    private _request = 0;
    private _hadMarks = false;
    private _unwatch: () => void;

    constructor(private _view: EditorView) {
      this._unwatch = kind ? kind.changed(() => this._schedule(0)) : () => undefined;
      this._schedule(0);
    }

    update(update: ViewUpdate): void {
      if (update.docChanged) {
        this._schedule(DEBOUNCE);
      }
    }

    destroy(): void {
      this._unwatch();
      if (this._timer !== null) {
        window.clearTimeout(this._timer);
      }
      this._request += 1;
    }

    private _schedule(delay: number): void {
      if (this._timer !== null) {
        window.clearTimeout(this._timer);
      }
      this._timer = window.setTimeout(() => void this._check(), delay);
    }

    private async _check(): Promise<void> {
      this._timer = null;
      const view = this._view;
      const doc = view.state.doc;
      const request = ++this._request;
      if ((kind && !kind.isIPython()) || !MAGIC.test(doc.toString())) {
        if (this._hadMarks) {
          this._hadMarks = false;
          view.dispatch({ effects: setMarks.of([]) });
        }
        view.dom.dataset.hpoChecked = String(request); // looked at: nothing to check
        return;
      }
      let diagnostics: IDiagnostics;
      try {
        diagnostics = await postAPI<IDiagnostics>('parse', { source: doc.toString() });
      } catch {
        return; // no server answer: keep what is shown
      }
      if (request !== this._request || view.state.doc !== doc) {
        return; // the cell changed meanwhile: a newer check is on its way
      }
      const marks = diagnostics.magic ? marksOf(doc, diagnostics) : [];
      this._hadMarks = marks.length > 0;
      view.dispatch({ effects: setMarks.of(marks) });
      view.dom.dataset.hpoChecked = String(request);
    }
  }
);

const hover = hoverTooltip(
  (view, pos) => {
    const { marks } = view.state.field(marksField);
    const here = marks.filter(m => m.from <= pos && pos <= m.to);
    if (here.length === 0) {
      return null;
    }
    return {
      pos: Math.min(...here.map(m => m.from)),
      end: Math.max(...here.map(m => m.to)),
      above: true,
      create: () => {
        const dom = document.createElement('div');
        dom.className = 'jp-hpo-tooltip';
        for (const mark of here.sort((a, b) => (a.kind === 'error' ? -1 : 1) - (b.kind === 'error' ? -1 : 1))) {
          const line = document.createElement('div');
          line.className = mark.kind === 'error' ? 'jp-hpo-tooltip-error' : 'jp-hpo-tooltip-domain';
          line.textContent = mark.text;
          dom.appendChild(line);
        }
        return { dom };
      }
    };
  },
  { hoverTime: 250 }
);

const theme = EditorView.baseTheme({
  '.jp-hpo-annotation': {
    backgroundColor: 'rgba(31, 119, 180, 0.12)',
    borderRadius: '2px'
  },
  '.jp-hpo-error': {
    textDecoration: 'underline wavy #d62728',
    textUnderlineOffset: '3px'
  }
});

/** The editor extension: checks, marks, hover and their style; with `kind`, only while the
 * editor holds IPython code. */
export function hpoDiagnostics(kind: IEditorKind | null = null): Extension {
  return [marksField, checker(kind), hover, theme];
}
