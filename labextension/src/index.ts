/**
 * The JupyterLab (and Notebook 7) extension of jupyter_hpo:
 * - `jupyter-hpo:studies`: the studies panel, the study view, the status bar item and the
 *   commands (open the panel, insert a `%%hpo` template cell, stop all running studies);
 * - `jupyter-hpo:diagnostics`: `%%hpo` annotations checked in the editor as you type.
 */
import {
  ILabShell,
  ILayoutRestorer,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import {
  ICommandPalette,
  IThemeManager,
  MainAreaWidget,
  showErrorMessage,
  WidgetTracker
} from '@jupyterlab/apputils';
import { EditorExtensionRegistry, IEditorExtensionRegistry } from '@jupyterlab/codemirror';
import { INotebookTracker, NotebookActions } from '@jupyterlab/notebook';
import { IStatusBar } from '@jupyterlab/statusbar';
import { SplitPanel, TabPanel, Widget } from '@lumino/widgets';

import { hpoDiagnostics, IPYTHON_MIME } from './diagnostics';
import { hpoIcon } from './icons';
import { StudiesModel } from './model';
import { StudiesPanel } from './panel';
import { StudiesStatus } from './statusbar';
import { StudyView, studyViewId } from './studyView';

export namespace CommandIDs {
  export const openPanel = 'jupyter-hpo:open-panel';
  export const openStudy = 'jupyter-hpo:open-study';
  export const insertTemplate = 'jupyter-hpo:insert-template';
  export const stopAll = 'jupyter-hpo:stop-all';
}

/** The cell that "Insert a %%hpo template cell" adds: runnable as it is. */
export const TEMPLATE = `%%hpo --trials 20 --workers 2 --scheduler hyperband
lr     = Real(1e-4, 1e-1, log=True)
units  = Int(16, 256, log=True)
act    = Categorical("relu", "tanh")
epochs = 10              # Hyperband's max_t is taken from here

for epoch in range(1, epochs + 1):
    # replace with one epoch of your training and its validation loss
    val_loss = abs(lr - 0.01) * 10 + 16 / units + (0.1 if act == "tanh" else 0) + 1 / epoch
    report(epoch=epoch, val_loss=val_loss)
`;

/** The cell that loads the magic, which the template needs in a notebook that lacks one. */
export const LOAD_EXT = '%load_ext jupyter_hpo';

/**
 * Whether a cell of `sources` loads jupyter_hpo (`%load_ext`, `%reload_ext` or
 * `load_ext('jupyter_hpo')`): without it the template fails with "Cell magic not found".
 */
export function loadsTheMagic(sources: string[]): boolean {
  const loads = /load_ext\s+jupyter_hpo\b|load_ext\(\s*['"]jupyter_hpo['"]/;
  return sources.some(source => loads.test(source));
}

const CATEGORY = 'Hyperparameter optimisation';

/**
 * Notebook 7 opens its panel below the notebook with no height: the first widget put there
 * gets half of the page (a panel with others in it keeps the size the user gave it).
 */
function shareWithTheNotebook(widget: Widget): void {
  for (let child: Widget | null = widget; child?.parent; child = child.parent) {
    const split = child.parent;
    if (split instanceof SplitPanel && split.orientation === 'vertical') {
      if (!(child instanceof TabPanel) || child.widgets.length === 1) {
        split.setRelativeSizes(split.widgets.map(() => 1));
      }
      return;
    }
  }
}

/**
 * Notebook 7.2 and 7.3 have no area below the notebook (7.4 added it): there the view opens
 * in the right side panel, which takes half of the width the notebook had with it.
 */
function shareBesideTheNotebook(widget: Widget): void {
  for (let child: Widget | null = widget; child?.parent; child = child.parent) {
    const split = child.parent;
    if (split instanceof SplitPanel && split.orientation === 'horizontal') {
      const index = split.widgets.indexOf(child);
      const sizes = split.relativeSizes();
      let notebook = -1;
      sizes.forEach((size, i) => {
        if (i !== index && (notebook < 0 || size > sizes[notebook])) {
          notebook = i;
        }
      });
      if (notebook >= 0) {
        sizes[index] = sizes[notebook] = (sizes[index] + sizes[notebook]) / 2;
        split.setRelativeSizes(sizes);
      }
      return;
    }
  }
}

const studiesPlugin: JupyterFrontEndPlugin<void> = {
  id: 'jupyter-hpo:studies',
  description: 'Studies panel, study view, status bar item and commands of jupyter_hpo.',
  autoStart: true,
  optional: [ILayoutRestorer, IStatusBar, ICommandPalette, INotebookTracker, ILabShell, IThemeManager],
  activate: (
    app: JupyterFrontEnd,
    restorer: ILayoutRestorer | null,
    statusBar: IStatusBar | null,
    palette: ICommandPalette | null,
    notebooks: INotebookTracker | null,
    _labShell: ILabShell | null,
    themes: IThemeManager | null
  ) => {
    const model = new StudiesModel();
    const views = new Map<string, MainAreaWidget<StudyView>>();
    const beside = new WeakSet<Widget>(); // views in Notebook 7.2-7.3's right side panel
    // the open views, which a reload of the page opens again (they were lost)
    const tracker = new WidgetTracker<MainAreaWidget<StudyView>>({ namespace: 'jupyter-hpo-study' });

    const openStudy = (storage: string, name: string, restored = false) => {
      const id = studyViewId(storage, name);
      let widget = views.get(id);
      if (!widget || widget.isDisposed) {
        const content = new StudyView(model, storage, name);
        content.closeIfMissing = restored;
        widget = new MainAreaWidget({ content });
        widget.id = id;
        widget.title.label = name;
        widget.title.caption = content.title.caption;
        widget.title.icon = hpoIcon;
        widget.title.closable = true;
        views.set(id, widget);
        app.shell.add(widget, 'main');
        void tracker.add(widget);
        if (!widget.parent) {
          // Notebook 7 keeps the one notebook of its page in the main area and silently
          // refuses another widget there (Open did nothing): the view goes below it
          app.shell.add(widget, 'down');
          if (widget.parent) {
            app.shell.activateById(widget.id);
            shareWithTheNotebook(widget);
            return;
          }
          // Notebook 7.2 and 7.3 have no 'down' area either (they warn and add nothing)
          app.shell.add(widget, 'right', { rank: 1000 });
          beside.add(widget);
          app.shell.activateById(widget.id);
          shareBesideTheNotebook(widget);
          return;
        }
      }
      // Notebook 7.2-7.3's side panel closes when the widget it shows is activated again
      if (!(beside.has(widget) && widget.isVisible)) {
        app.shell.activateById(widget.id);
      }
    };

    const panel = new StudiesPanel(model, {
      open: study => openStudy(study.storage, study.name)
    });
    panel.title.icon = hpoIcon;
    app.shell.add(panel, 'left', { rank: 650 });
    restorer?.add(panel, 'jupyter-hpo-studies');

    // A deleted study (or one whose storage file was deleted) closes its view; a storage
    // file that cannot be read now (damaged, locked) lists no studies, but they are not gone,
    // so their views stay open.
    model.changed.connect(() => {
      const listing = model.listing;
      if (!listing) {
        return;
      }
      const present = new Set(model.studies.map(s => studyViewId(s.storage, s.name)));
      const unreadable = new Set(listing.storages.filter(s => s.error).map(s => s.path));
      for (const [id, widget] of views) {
        if (
          !present.has(id) &&
          widget.content.study &&
          !unreadable.has(widget.content.storage)
        ) {
          widget.dispose();
          views.delete(id);
        }
      }
    });

    // the charts draw in the theme's colours: a changed theme draws the open views again
    themes?.themeChanged.connect(() => {
      for (const widget of views.values()) {
        if (!widget.isDisposed) {
          widget.content.restyle();
        }
      }
    });

    app.commands.addCommand(CommandIDs.openPanel, {
      label: 'Open the HPO studies panel',
      caption: 'Show every hyperparameter study of the storage files the server sees',
      icon: hpoIcon,
      execute: () => {
        if (!panel.isVisible) {
          // (Notebook 7.2-7.3 close a side panel whose widget is activated again)
          app.shell.activateById(panel.id);
        }
        void model.refresh(true);
      }
    });
    app.commands.addCommand(CommandIDs.openStudy, {
      label: args => `Open HPO study ${args.name ?? ''}`,
      execute: args => openStudy(String(args.storage), String(args.name), args.restored === true)
    });
    void restorer?.restore(tracker, {
      command: CommandIDs.openStudy,
      args: widget => ({ storage: widget.content.storage, name: widget.content.name, restored: true }),
      name: widget => widget.id
    });
    app.commands.addCommand(CommandIDs.insertTemplate, {
      label: 'Insert a %%hpo template cell',
      caption: 'Insert a cell that runs a hyperparameter study below the active cell',
      isEnabled: () => !!notebooks?.currentWidget,
      execute: () => {
        const current = notebooks?.currentWidget;
        if (!current) {
          return;
        }
        const notebook = current.content;
        const sources = notebook.widgets.map(cell => cell.model.sharedModel.getSource());
        const inserted = loadsTheMagic(sources) ? [TEMPLATE] : [LOAD_EXT, TEMPLATE];
        for (const source of inserted) {
          NotebookActions.insertBelow(notebook);
          notebook.activeCell?.model.sharedModel.setSource(source);
        }
        notebook.mode = 'edit';
      }
    });
    app.commands.addCommand(CommandIDs.stopAll, {
      label: 'Stop all running HPO studies',
      caption: 'Ask every running study (in any kernel) to stop',
      execute: async () => {
        // a list asked for now, with a fresh look for storage files: a study that has just
        // started (in a file created for it) is stopped too
        await model.refresh(true);
        const failures: string[] = [];
        for (const study of model.running) {
          try {
            await model.stop(study);
          } catch (error) {
            failures.push(`${study.name}: ${(error as Error).message}`);
          }
        }
        if (failures.length) {
          await showErrorMessage('Some studies could not be stopped', failures.join('\n'));
        }
      }
    });
    if (palette) {
      for (const command of [CommandIDs.openPanel, CommandIDs.insertTemplate, CommandIDs.stopAll]) {
        palette.addItem({ command, category: CATEGORY });
      }
    }

    if (statusBar) {
      const item = new StudiesStatus(model, () => {
        void app.commands.execute(CommandIDs.openPanel);
      });
      statusBar.registerStatusItem('jupyter-hpo:status', {
        item,
        align: 'left',
        rank: 5,
        isActive: () => item.active,
        activeStateChanged: model.changed
      });
    }

    // A %%hpo cell that ran (or was stopped) changes the list at once.
    NotebookActions.executed.connect((_, { cell }) => {
      if (cell.model.sharedModel.getSource().trimStart().startsWith('%%hpo')) {
        void model.refresh(true);
      }
    });

    model.start();
  }
};

const diagnosticsPlugin: JupyterFrontEndPlugin<void> = {
  id: 'jupyter-hpo:diagnostics',
  description: '%%hpo annotations highlighted and checked in the editor, without a kernel.',
  autoStart: true,
  requires: [IEditorExtensionRegistry],
  activate: (app: JupyterFrontEnd, registry: IEditorExtensionRegistry) => {
    registry.addExtension({
      name: 'jupyter-hpo:diagnostics',
      factory: ({ model }) =>
        EditorExtensionRegistry.createImmutableExtension(
          hpoDiagnostics({
            isIPython: () => model.mimeType === IPYTHON_MIME,
            changed: callback => {
              const slot = () => callback();
              model.mimeTypeChanged.connect(slot);
              return () => model.mimeTypeChanged.disconnect(slot);
            }
          })
        )
    });
  }
};

export default [studiesPlugin, diagnosticsPlugin];
