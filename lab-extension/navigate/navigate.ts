/**
 * Jump from a site to its code: a line of a notebook cell, or a line of a file the server can open.
 */
import { Notification } from '@jupyterlab/apputils';
import type { Cell } from '@jupyterlab/cells';
import type { CodeEditor } from '@jupyterlab/codeeditor';
import type { IDocumentManager } from '@jupyterlab/docmanager';
import type { Notebook, NotebookPanel } from '@jupyterlab/notebook';
import type { Contents } from '@jupyterlab/services';

import type { IFrame } from '../comm/protocol';
import { fileLine } from '../sites/sites';
import { displayText } from '../format/text';
import { serverRelativePath } from './paths';
import { holdsFrameLine } from './sameFile';

/**
 * The CSS class that briefly highlights the cell jumped to.
 */
export const FLASH_CLASS = 'jp-heapscope-mod-flash';

/**
 * Scroll to a notebook cell, select it, put the cursor at the start of a line and highlight the
 * cell briefly.
 *
 * @param notebook - the notebook.
 * @param cellId - the cell's model id.
 * @param line - the line within the cell, from 1.
 * @returns whether the cell was found.
 */
export async function revealCellLine(notebook: Notebook, cellId: string, line: number): Promise<boolean> {
  const index = notebook.widgets.findIndex(cell => cell.model.id === cellId);
  if (index < 0) {
    return false;
  }
  const cell: Cell = notebook.widgets[index];
  notebook.deselectAll();
  notebook.activeCellIndex = index;
  await notebook.scrollToCell(cell, 'center');
  await cell.ready;
  const editor = cell.editor;
  if (editor) {
    const last = Math.max(0, editor.lineCount - 1);
    const position = { line: Math.min(Math.max(0, line - 1), last), column: 0 };
    notebook.mode = 'edit';
    editor.setCursorPosition(position);
    editor.revealPosition(position);
    editor.focus();
  }
  cell.node.classList.remove(FLASH_CLASS);
  // Restart the animation: read layout between removing and adding the class.
  void cell.node.offsetWidth;
  cell.node.classList.add(FLASH_CLASS);
  setTimeout(() => cell.node.classList.remove(FLASH_CLASS), Private.FLASH_MS);
  return true;
}

/**
 * What {@link navigateToFrame} needs from JupyterLab.
 */
export interface INavigationContext {
  /**
   * The notebook the frame's cell belongs to.
   */
  readonly notebookPanel: NotebookPanel;
  /**
   * Activates a widget by id (the shell's `activateById`).
   */
  readonly activate: (id: string) => void;
  /**
   * Opens files; without it files are shown as text only.
   */
  readonly docManager: IDocumentManager | null;
  /**
   * The contents manager (checks that a file exists before opening it).
   */
  readonly contents: Contents.IManager | null;
  /**
   * The server's root directory (absolute), or '' when unknown.
   */
  readonly serverRoot: string;
}

/**
 * Go to a frame's code: its cell line when it is cell code of the notebook, else its file at the
 * line when the server can open it and that line reads as the kernel read it (the kernel may run
 * elsewhere, where the same path is another file: see `sameFile.ts`); otherwise say where it is,
 * with the kernel's text of the line, in a notification (as text).
 *
 * @param frame - a frame or site.
 * @param context - JupyterLab's services.
 * @returns how the frame was shown.
 */
export async function navigateToFrame(frame: IFrame, context: INavigationContext): Promise<'cell' | 'file' | 'text'> {
  if (frame.cell_id !== null && frame.cell_line !== null) {
    context.activate(context.notebookPanel.id);
    if (await revealCellLine(context.notebookPanel.content, frame.cell_id, frame.cell_line)) {
      return 'cell';
    }
  }
  const path = serverRelativePath(frame.file, context.serverRoot);
  let other = false;
  if (path !== null && context.docManager && context.contents) {
    try {
      const model = await context.contents.get(path, { content: true, type: 'file', format: 'text' });
      if (typeof model.content !== 'string' || !holdsFrameLine(frame, model.content)) {
        other = true;
        throw new Error('not the code that ran');
      }
      const widget = context.docManager.openOrReveal(path);
      const editor = Private.editorOf(widget);
      if (widget && editor && frame.line !== null) {
        await (widget as { context?: { ready?: Promise<void> } }).context?.ready;
        const position = { line: frame.line - 1, column: 0 };
        editor.setCursorPosition(position);
        editor.revealPosition(position);
        editor.focus();
      }
      if (widget) {
        return 'file';
      }
    } catch {
      // Not readable through the server: say where it is instead.
    }
  }
  const where = frame.cell_id !== null ? `a cell that is not in this notebook (${fileLine(frame)})` : fileLine(frame);
  const code = frame.cell_id === null && frame.source ? `: ${displayText(frame.source, 200)}` : '';
  const note = other ? ' (on the kernel’s host; the Lab server’s file of that path holds other code)' : '';
  Notification.info(`${displayText(frame.function, 200)} is at ${displayText(where, 1024)}${note}${code}`, {
    autoClose: 8000
  });
  return 'text';
}

/**
 * A module-private namespace.
 */
namespace Private {
  /**
   * How long the highlight lasts, in milliseconds (the CSS animation's duration).
   */
  export const FLASH_MS = 1500;

  /**
   * The code editor of an opened document widget (a file editor's), or undefined.
   */
  export function editorOf(widget: unknown): CodeEditor.IEditor | undefined {
    const editor = (widget as { content?: { editor?: unknown } } | undefined)?.content?.editor;
    return editor && typeof (editor as CodeEditor.IEditor).setCursorPosition === 'function'
      ? (editor as CodeEditor.IEditor)
      : undefined;
  }
}
