/**
 * The heap chart explains itself (issue 11): legend, axis titles, cell labels, a range slider and
 * zoom from 30 runs, a log / clip-outliers scale, no hover label left after switching views; and
 * badges that say "error" or "interrupted" in words with an icon.
 */
import { expect, IJupyterLabPageFixture, test } from '@jupyterlab/galata';
import * as path from 'path';

import { badge, eachWidthAndTheme, notebookFile, openFixture } from './helpers';

test.use({ autoGoto: true, viewport: { width: 1400, height: 900 } });

const CHART = '#heapscope-panel .jp-heapscope-Chart';

/** The chart's plotly layout and the names of the traces it draws. */
async function chartState(page: IJupyterLabPageFixture) {
  return page.evaluate(selector => {
    const node = document.querySelector(`${selector} .js-plotly-plot`) as any;
    return {
      xrange: node.layout.xaxis.range as [number, number],
      ytype: node.layout.yaxis.type as string,
      yrange: node.layout.yaxis.range as [number, number],
      points: node.data[0].x.length as number,
      annotations: (node.layout.annotations ?? []).map((a: any) => a.text) as string[]
    };
  }, CHART);
}

async function openChart(page: IJupyterLabPageFixture): Promise<void> {
  await page.sidebar.openTab('heapscope-panel');
  await page.sidebar.setWidth(500, 'right');
  await page.locator('#heapscope-panel .jp-heapscope-Panel-tab[data-view="timeline"]').click();
  await expect(page.locator(`${CHART} .main-svg`).first()).toBeVisible();
}

test('legend, axis titles, labels and the log and clip-outliers scales', async ({ page, tmpPath }) => {
  const sources = [
    '# a comment first\nimport math',
    ...Array.from({ length: 9 }, (_, i) => `small_${i} = list(range(${1000 * (i + 1)}))`),
    'big = bytes(300_000_000)\ndel big',
    'last = 1'
  ];
  await openFixture(page, tmpPath, notebookFile('chart_scales.ipynb', sources));
  await page.notebook.run();
  await page.notebook.waitForRun();
  await expect(badge(page, 'c11')).toHaveCount(1);
  await openChart(page);
  await expect.poll(async () => (await chartState(page)).points).toBe(12);

  const legend = page.locator(`${CHART} .legend .traces .legendtext`);
  // RSS beside the heap and the memory limit (greyed while far above the heap): guard.spec.ts.
  await expect(legend).toHaveText(['peak', 'start', 'end', 'live', 'RSS', 'limit']);
  await expect(page.locator(`${CHART} .g-ytitle`)).toContainText('bytes');
  await expect(page.locator(`${CHART} .g-xtitle`)).toContainText('cell runs');
  // At 250 px twelve labels with code would overlap: the run counts alone, thinned. The chart redraws
  // for a new width at once (not after the spacing it keeps while cells run).
  const firstLabel = page.locator(`${CHART} .xtick text`).first();
  await page.sidebar.setWidth(250, 'right');
  await expect(firstLabel).toHaveText('[1]', { timeout: 2000 });
  // At 800 px the first label is the first line of code, not the comment.
  await page.sidebar.setWidth(800, 'right');
  await expect(firstLabel).toContainText('import math', { timeout: 2000 });
  // Twelve runs: no range slider.
  await expect(page.locator(`${CHART} .rangeslider-container`)).toHaveCount(0);

  const linear = await chartState(page);
  expect(linear.ytype).toBe('linear');
  expect(linear.yrange[1]).toBeGreaterThan(300e6);

  const select = page.locator(`${CHART} select.jp-heapscope-Chart-scale`);
  await select.selectOption('log');
  await expect(page.locator(CHART)).toHaveAttribute('data-scale', 'log');
  await expect.poll(async () => (await chartState(page)).ytype).toBe('log');

  await select.selectOption('clip');
  await expect.poll(async () => (await chartState(page)).ytype).toBe('linear');
  const clipped = await chartState(page);
  expect(clipped.yrange[1]).toBeLessThan(300e6);
  expect(clipped.annotations.join(' ')).toContain('clipped');
  await expect(page.locator(`${CHART} .annotation-text`)).toContainText('1 above');
});

test('a range slider and zoom from 30 runs; labels follow the zoom', async ({ page, tmpPath }) => {
  const sources = Array.from({ length: 40 }, (_, i) => `value_${i} = ${i}`);
  await openFixture(page, tmpPath, notebookFile('chart_zoom.ipynb', sources));
  await page.notebook.run();
  await page.notebook.waitForRun();
  await expect(badge(page, 'c39')).toHaveCount(1);
  await openChart(page);
  await expect.poll(async () => (await chartState(page)).points).toBe(40);
  await expect(page.locator(`${CHART} .rangeslider-container`)).toHaveCount(1);
  const before = await chartState(page);
  expect(before.xrange).toEqual([-0.5, 39.5]);

  // Drag over a few runs of the plot area: the x axis zooms (the y axis is fixed).
  const drag = page.locator(`${CHART} .nsewdrag`).first();
  const box = (await drag.boundingBox())!;
  const y = box.y + box.height / 2;
  await page.mouse.move(box.x + box.width * 0.4, y);
  await page.mouse.down();
  await page.mouse.move(box.x + box.width * 0.45, y, { steps: 4 });
  await page.mouse.move(box.x + box.width * 0.5, y, { steps: 4 });
  await page.mouse.up();
  await expect
    .poll(async () => {
      const [a, b] = (await chartState(page)).xrange;
      return b - a;
    })
    .toBeLessThan(10);
  // Few runs in view: their labels carry the code.
  await expect(page.locator(`${CHART} .xtick text`).first()).toContainText('value_');
  // A double click goes back to every run.
  await page.mouse.dblclick(box.x + box.width * 0.5, y);
  await expect.poll(async () => (await chartState(page)).xrange).toEqual([-0.5, 39.5]);
});

test('no hover label is left behind after switching views', async ({ page, tmpPath }) => {
  const sources = ['a = list(range(100_000))', 'b = bytes(50_000_000)', 'c = 1'];
  await openFixture(page, tmpPath, notebookFile('chart_hover.ipynb', sources));
  await page.notebook.run();
  await page.notebook.waitForRun();
  await expect(badge(page, 'c2')).toHaveCount(1);
  await openChart(page);
  await expect.poll(async () => (await chartState(page)).points).toBe(3);
  // plotly's points take no pointer events (its drag layer does): move the mouse onto one.
  const point = page.locator(`${CHART} .scatterlayer .trace`).first().locator('.point').nth(1);
  const box = (await point.boundingBox())!;
  await page.mouse.move(box.x + box.width / 2 - 3, box.y + box.height / 2);
  await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2, { steps: 3 });
  const hover = page.locator(`${CHART} .hoverlayer .hovertext`);
  await expect(hover).toHaveCount(1);
  await expect(hover).toContainText('[2] b = bytes(50_000_000)');
  await page.locator('#heapscope-panel .jp-heapscope-Panel-tab[data-view="cell"]').click();
  await page.locator('#heapscope-panel .jp-heapscope-Panel-tab[data-view="timeline"]').click();
  await expect(page.locator(`${CHART} .main-svg`).first()).toBeVisible();
  await expect(hover).toHaveCount(0);
});

test('badges say error and interrupted in words, with an icon', async ({ page, tmpPath }) => {
  // The third cell interrupts itself: SIGINT, what the kernel's interrupt sends (a REST interrupt
  // would go through galata's request tracking, which cannot read its empty answer).
  const sources = ['ok = 1', '1 / 0', 'import os, signal, time\nos.kill(os.getpid(), signal.SIGINT)\ntime.sleep(5)'];
  await openFixture(page, tmpPath, notebookFile('chart_badges.ipynb', sources));
  await page.notebook.runCell(0);
  await page.notebook.runCell(1);
  await page.notebook.runCell(2);
  await expect(badge(page, 'c1')).toHaveAttribute('data-outcome', 'error');
  await expect(badge(page, 'c1')).toContainText('error');
  await expect(badge(page, 'c1').locator('.jp-heapscope-badge-outcome svg')).toHaveCount(1);
  await expect(badge(page, 'c0')).toHaveAttribute('data-outcome', 'ok');
  await expect(badge(page, 'c0')).not.toContainText('error');

  await expect(badge(page, 'c2')).toHaveAttribute('data-outcome', 'interrupted');
  await expect(badge(page, 'c2')).toContainText('interrupted');
  await expect(badge(page, 'c2')).not.toContainText('error');
  await expect(badge(page, 'c2').locator('.jp-heapscope-badge-outcome svg')).toHaveCount(1);
  expect(await badge(page, 'c2').getAttribute('title')).toContain('interrupted');
  expect(await badge(page, 'c2').getAttribute('title')).not.toContain('error');
});

test('screenshots of the chart at 12 and 300 runs, light and dark, 250 and 800 px', async ({ page, tmpPath }) => {
  const out = process.env.HEAPSCOPE_SCREENSHOTS;
  test.skip(!out, 'set HEAPSCOPE_SCREENSHOTS to a folder to take the screenshots');
  test.setTimeout(600000);
  for (const count of [12, 300]) {
    const sources = Array.from({ length: count }, (_, i) =>
      i === 5 ? '# a big temporary\nbig = bytes(200_000_000)\ndel big' : `data_${i} = list(range(${(i % 9) * 20000}))`
    );
    await openFixture(page, tmpPath, notebookFile(`chart_${count}.ipynb`, sources));
    await page.notebook.run();
    await page.notebook.waitForRun();
    await expect(badge(page, `c${count - 1}`)).toHaveCount(1, { timeout: 120000 });
    await openChart(page);
    await expect.poll(async () => (await chartState(page)).points, { timeout: 60000 }).toBe(count);
    await eachWidthAndTheme(page, [250, 800], async (theme, width) => {
      await page.waitForTimeout(1000);
      await page
        .locator('#heapscope-panel')
        .screenshot({ path: path.join(out!, `chart-${count}-${theme}-${width}.png`) });
    });
    await page.theme.setLightTheme();
    await page.notebook.close(true);
  }
});
