/**
 * Helpers of the issue 4 UI tests (heap_ui.spec.ts): fixtures, payloads, dialogs, file reading.
 */
import { expect, IJupyterLabPageFixture } from '@jupyterlab/galata';
import type { Page } from '@playwright/test';
import * as path from 'path';

import { badge } from './helpers';

/** The bundled UI fixture: a drill-down cell (3 lines), a temporary, and a hostile-names cell. */
export const HEAP_UI = path.resolve(__dirname, 'fixtures', 'heap_ui.ipynb');

/** A one-cell notebook on the plain `python3` kernel. */
export const PLAIN_PYTHON = path.resolve(__dirname, 'fixtures', 'plain_python.ipynb');

/** The payloads the hostile cell uses as file and function names and in its source. */
export const PAYLOADS = ['<img src=x onerror=alert(1)>', '</script><script>alert(1)</script>'];

/** Record every dialog the page opens (an injected `alert(1)` would); the test expects none. */
export function failOnDialog(page: IJupyterLabPageFixture | Page): string[] {
  const dialogs: string[] = [];
  page.on('dialog', dialog => {
    dialogs.push(dialog.message());
    void dialog.dismiss();
  });
  return dialogs;
}

/** Read a text file through the Jupyter contents API. */
export async function readTextFile(page: IJupyterLabPageFixture, filePath: string): Promise<string> {
  return page.evaluate(async p => {
    const model = await (window as any).jupyterapp.serviceManager.contents.get(p, { content: true, format: 'text' });
    return model.content as string;
  }, filePath);
}

/** Open a cell's detail in the Heap panel by clicking its badge. */
export async function openDetailFromBadge(page: IJupyterLabPageFixture, cellId: string): Promise<void> {
  await badge(page, cellId).click();
  await expect(page.locator('#heapscope-panel-cell')).toBeVisible();
}
