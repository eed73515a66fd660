/**
 * Shared helpers for the heapscope UI tests: fixture notebooks and the DOM contract of
 * docs/architecture.md (panel id, chart class, badge class and data-cell-id).
 */
import { expect, IJupyterLabPageFixture } from '@jupyterlab/galata';
import type { JupyterLabPage } from '@jupyterlab/galata';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

/** The bundled demo notebook, as users open it. */
export const DEMO = path.resolve(__dirname, '..', '..', 'examples', 'demo.ipynb');

/** A code cell of a fixture notebook. */
export interface IFixtureCell {
  id: string;
  index: number;
  source: string;
}

/** The code cells of a notebook file, with their index among all cells. */
export function codeCells(file: string): IFixtureCell[] {
  const nb = JSON.parse(fs.readFileSync(file, 'utf-8'));
  return nb.cells
    .map((c: any, index: number) => ({
      id: c.id,
      index,
      type: c.cell_type,
      source: Array.isArray(c.source) ? c.source.join('') : c.source
    }))
    .filter((c: any) => c.type === 'code')
    .map(({ id, index, source }: any) => ({ id, index, source }));
}

/** Upload a fixture notebook into the test's folder and open it. */
export async function openFixture(page: IJupyterLabPageFixture, tmpPath: string, file: string): Promise<string> {
  const name = path.basename(file);
  await page.contents.uploadFile(file, `${tmpPath}/${name}`);
  await page.notebook.openByPath(`${tmpPath}/${name}`);
  await page.notebook.activate(name);
  await waitForKernelIdle(page);
  return name;
}

/** Wait until the active notebook's kernel is idle (after start or restart). */
export async function waitForKernelIdle(page: IJupyterLabPageFixture): Promise<void> {
  await expect(page.locator('.jp-Notebook-ExecutionIndicator[data-status="idle"]')).toHaveCount(1, {
    timeout: 60000
  });
}

/** The badge locator of one cell. */
export function badge(page: IJupyterLabPageFixture, cellId: string) {
  return page.locator(`.jp-heapscope-badge[data-cell-id="${cellId}"]`);
}

/** Parses a badge text such as "+200 MB · peak +200 MB" into signed bytes (decimal units). */
export function parseBadge(text: string): { net: number; peak: number } {
  const m = /^\s*([+\-−]?[\d.]+)\s*(B|kB|MB|GB|TB)\s*·\s*peak\s*\+?([\d.]+)\s*(B|kB|MB|GB|TB)/.exec(text);
  if (!m) {
    throw new Error(`badge text not understood: ${JSON.stringify(text)}`);
  }
  const unit: Record<string, number> = { B: 1, kB: 1e3, MB: 1e6, GB: 1e9, TB: 1e12 };
  return {
    net: parseFloat(m[1].replace('−', '-')) * unit[m[2]],
    peak: parseFloat(m[3]) * unit[m[4]]
  };
}

/**
 * Reload the page without waiting for the Launcher: a restored workspace opens its notebook
 * instead.
 *
 * The `page` fixture is a proxy that sends `reload` to galata's `JupyterLabPage.reload`, which
 * takes `waitForIsReady`; its declared type (`IJupyterLabPageFixture`) only inherits Playwright's
 * `Page.reload` signature, so the call goes through `JupyterLabPage`'s declared type.
 */
export async function reloadRestored(page: IJupyterLabPageFixture): Promise<void> {
  const lab = page as unknown as Pick<JupyterLabPage, 'reload'>;
  await lab.reload({ waitForIsReady: false });
}

/** Save the notebook `name`, reload the page and wait until its kernel is idle again. */
export async function saveAndReload(page: IJupyterLabPageFixture, name: string): Promise<void> {
  await page.notebook.save();
  await reloadRestored(page);
  await expect(page.getByRole('tab', { name })).toBeVisible();
  await page.notebook.activate(name);
  await waitForKernelIdle(page);
}

/** Write a heapscope notebook of the given code cells (ids `c0`, `c1`, …) to a new temporary folder. */
export function notebookFile(name: string, sources: string[]): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'heapscope-ui-'));
  const file = path.join(dir, name);
  const nb = {
    cells: sources.map((source, i) => ({
      cell_type: 'code',
      id: `c${i}`,
      metadata: {},
      execution_count: null,
      outputs: [],
      source
    })),
    metadata: {
      kernelspec: { name: 'heapscope', display_name: 'Python 3 (heapscope)', language: 'python' },
      language_info: { name: 'python' }
    },
    nbformat: 4,
    nbformat_minor: 5
  };
  fs.writeFileSync(file, JSON.stringify(nb));
  return file;
}

/**
 * The screenshot tests' loop: set the right sidebar to each width, the light then the dark theme at each,
 * and call `shoot` in every combination.
 */
export async function eachWidthAndTheme(
  page: IJupyterLabPageFixture,
  widths: number[],
  shoot: (theme: 'light' | 'dark', width: number) => Promise<void>
): Promise<void> {
  for (const width of widths) {
    await page.sidebar.setWidth(width, 'right');
    for (const theme of ['light', 'dark'] as const) {
      if (theme === 'dark') {
        await page.theme.setDarkTheme();
      } else {
        await page.theme.setLightTheme();
      }
      await shoot(theme, width);
    }
  }
}
