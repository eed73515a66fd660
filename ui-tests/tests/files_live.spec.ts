/**
 * Issue 4, the parts that need a helper module and a slow cell: a running cell's badge and the
 * panel's live line move while it runs; a drill-down frame in a file under the server's root
 * opens that file at the line, and one outside the root is shown as text, not as a link.
 */
import { expect, IJupyterLabPageFixture, test } from '@jupyterlab/galata';
import * as path from 'path';

import { badge, codeCells, openFixture, parseBadge } from './helpers';
import { failOnDialog, openDetailFromBadge } from './uiHelpers';

test.use({ autoGoto: true });

/** The fixture: uploads need `hs_helper.py` beside it. */
const FILES_LIVE = path.resolve(__dirname, 'fixtures', 'files_live.ipynb');

/** The helper module the notebook imports (and copies outside the server's root). */
const HELPER = [
  '"""A helper module next to the notebook (heapscope UI tests)."""',
  '',
  '',
  'def grow(n):',
  '    block = bytearray(n)',
  '    return block',
  ''
].join('\n');

/** The line of the helper that allocates, counted from 1. */
const HELPER_LINE = HELPER.split('\n').findIndex(line => line.includes('bytearray(')) + 1;

const cells = codeCells(FILES_LIVE);
const insideCell = cells.find(c => c.id === 'inside')!;
const outsideCell = cells.find(c => c.id === 'outside')!;
const liveCell = cells.find(c => c.id === 'live')!;

/**
 * In the open drill-down, expand the stack of the first site allocated at `fileLine` (its
 * innermost frame) and return the site and that frame's row.
 */
async function expandSiteIn(page: IJupyterLabPageFixture, fileLine: string) {
  const site = page
    .locator('#heapscope-panel-cell .jp-heapscope-Site', {
      has: page.locator('.jp-heapscope-Site-file', { hasText: fileLine })
    })
    .first();
  await expect(site).toBeVisible();
  await site.locator('.jp-heapscope-Toggle').first().click();
  const frame = site.locator('.jp-heapscope-Frame-main', { hasText: fileLine });
  await expect(frame).toBeVisible();
  return { site, frame };
}

/** Upload the helper and the notebook, open it and run the set-up cell. */
async function openWithHelper(page: IJupyterLabPageFixture, tmpPath: string): Promise<void> {
  await page.contents.uploadContent(HELPER, 'text', `${tmpPath}/hs_helper.py`);
  await openFixture(page, tmpPath, FILES_LIVE);
  await page.notebook.runCell(cells.find(c => c.id === 'setup')!.index);
}

test('a running cell’s badge and the live line update while it runs', async ({ page, tmpPath }) => {
  await openWithHelper(page, tmpPath);
  await page.sidebar.openTab('heapscope-panel');
  // Something finished, so the chart is drawn before the live cell starts.
  await page.notebook.runCell(insideCell.index);
  await expect(page.locator('#heapscope-panel .jp-heapscope-Chart .js-plotly-plot .main-svg').first()).toBeVisible();

  // Record the badge and the chart's live trace every 40 ms while the cell runs.
  await page.evaluate(cellId => {
    const w = window as any;
    w.__hsLive = [];
    w.__hsLiveTimer = setInterval(() => {
      const node = document.querySelector(`.jp-heapscope-badge[data-cell-id="${cellId}"]`);
      const plot = document.querySelector('#heapscope-panel .jp-heapscope-Chart-plot') as any;
      const live = (plot?.data ?? []).find((trace: any) => String(trace.name).toLowerCase() === 'live');
      const rss = (plot?.data ?? []).find((trace: any) => trace.name === 'RSS');
      w.__hsLive.push({
        text: node?.textContent ?? null,
        running: !!node?.classList.contains('jp-mod-running'),
        live: live && Array.isArray(live.x) ? live.x.length : 0,
        rss: rss && Array.isArray(rss.x) ? rss.x.filter((x: number | null) => x !== null).length : 0
      });
    }, 40);
  }, liveCell.id);
  await page.notebook.runCell(liveCell.index);
  await expect(badge(page, liveCell.id)).not.toHaveClass(/jp-mod-running/);
  const records: { text: string | null; running: boolean; live: number; rss: number }[] = await page.evaluate(() => {
    const w = window as any;
    clearInterval(w.__hsLiveTimer);
    return w.__hsLive;
  });

  const running = records.filter(r => r.running);
  // The badge showed live figures, and they changed at least twice before the cell ended.
  const texts = running.map(r => r.text!).filter(t => t.startsWith('running ·'));
  const changes = texts.filter((t, i) => i > 0 && t !== texts[i - 1]).length;
  expect(changes).toBeGreaterThanOrEqual(2);
  // The live line grew: several distinct, increasing point counts while the cell ran.
  const counts = running.map(r => r.live).filter(n => n > 0);
  const distinct = [...new Set(counts)];
  expect(distinct.length).toBeGreaterThanOrEqual(3);
  expect(distinct).toEqual([...distinct].sort((a, b) => a - b));
  // RSS is live too: its line gained readings while the cell ran (one per batch of ticks).
  const rssCounts = [...new Set(running.map(r => r.rss).filter(n => n > 0))];
  expect(rssCounts.length).toBeGreaterThanOrEqual(3);
  expect(rssCounts).toEqual([...rssCounts].sort((a, b) => a - b));

  // The finished badge agrees with what the cell kept: its loop's chunks (from the cell's source).
  const rounds = Number(/range\((\d+)\)/.exec(liveCell.source)![1]);
  const chunk = Number(/bytearray\(([\d_]+)\)/.exec(liveCell.source)![1].replace(/_/g, ''));
  const final = parseBadge(await badge(page, liveCell.id).innerText());
  expect(final.net).toBeGreaterThan(0.95 * rounds * chunk);
  // The last live reading is at most the final peak.
  const lastLive = parseBadge(texts[texts.length - 1].replace(/^running · /, ''));
  expect(lastLive.peak).toBeLessThanOrEqual(final.peak * 1.01);
});

test('a frame in a file under the server root opens the file at its line; one outside is text', async ({
  page,
  tmpPath
}) => {
  const dialogs = failOnDialog(page);
  // The server root is under $HOME (jupyter_server_test_config.py), so the server reports it as
  // `~/…`: the links below need the kernel's home to compare paths.
  const serverRoot = await page.evaluate(
    () => JSON.parse(document.getElementById('jupyter-config-data')!.textContent!).serverRoot as string
  );
  if (!process.env.JUPYTERLAB_GALATA_ROOT_DIR) {
    expect(serverRoot).toMatch(/^~\//);
  }
  await openWithHelper(page, tmpPath);
  await page.notebook.runCell(insideCell.index);
  await page.notebook.runCell(outsideCell.index);
  await expect(badge(page, outsideCell.id)).toHaveCount(1);

  // The helper next to the notebook: the site's stack has its frame, as a button.
  await openDetailFromBadge(page, insideCell.id);
  const { frame: helperFrame } = await expandSiteIn(page, `hs_helper.py:${HELPER_LINE}`);
  await expect(helperFrame.locator('button.jp-heapscope-Site-location')).toHaveCount(1);
  await helperFrame.locator('button.jp-heapscope-Site-location').click();
  await expect
    .poll(() =>
      page.evaluate(() => {
        const widget = (window as any).jupyterapp.shell.currentWidget;
        const editor = widget?.content?.editor;
        return { path: widget?.context?.path ?? null, line: editor ? editor.getCursorPosition().line : null };
      })
    )
    .toEqual({ path: `${tmpPath}/hs_helper.py`, line: HELPER_LINE - 1 });

  // The copy outside the server's root: its location is text, not a button.
  await page.notebook.activate(path.basename(FILES_LIVE));
  await openDetailFromBadge(page, outsideCell.id);
  const { site: outside, frame: outsideFrame } = await expandSiteIn(page, `hs_outside.py:${HELPER_LINE}`);
  expect(await outsideFrame.evaluate(node => node.classList.contains('jp-mod-navigable'))).toBe(false);
  await expect(outsideFrame.locator('button, a')).toHaveCount(0);
  // The cell's own frame in the same stack still jumps to the cell: its place is a button.
  const cellFrame = outside.locator('.jp-heapscope-Frame-main', { hasText: /cell \[\d+\] line 1/ });
  expect(await cellFrame.evaluate(node => node.classList.contains('jp-mod-navigable'))).toBe(true);
  await expect(cellFrame.locator('button.jp-heapscope-Site-location')).toHaveCount(1);
  expect(dialogs).toEqual([]);
});
