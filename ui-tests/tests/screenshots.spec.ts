/**
 * Screenshots of the Heap panel and badges in the light and dark themes, for a person to look at
 * (issue 4: "looks right in light and dark themes"). Skipped unless HEAPSCOPE_SCREENSHOTS names
 * the folder to write them to:
 *   HEAPSCOPE_SCREENSHOTS=/tmp/shots npx playwright test screenshots
 */
import { expect, test } from '@jupyterlab/galata';
import * as path from 'path';

import { badge, codeCells, openFixture } from './helpers';
import { HEAP_UI, PLAIN_PYTHON } from './uiHelpers';

const OUT = process.env.HEAPSCOPE_SCREENSHOTS;

test.use({ autoGoto: true, viewport: { width: 1400, height: 900 } });

test('screenshots of the Heap panel in light and dark themes', async ({ page, tmpPath }) => {
  test.skip(!OUT, 'set HEAPSCOPE_SCREENSHOTS to a folder to take the screenshots');
  const cells = codeCells(HEAP_UI);
  await openFixture(page, tmpPath, HEAP_UI);
  await page.notebook.run();
  await page.notebook.waitForRun();
  await expect(badge(page, cells[cells.length - 1].id)).toHaveCount(1);
  await page.sidebar.openTab('heapscope-panel');
  const panel = page.locator('#heapscope-panel');
  // The sidebar's default width (250 px), a middle and a wide one.
  for (const width of [250, 400, 800]) {
    await page.sidebar.setWidth(width, 'right');
    await page.locator('#heapscope-panel .jp-heapscope-Panel-tab[data-view="timeline"]').click();
    await expect(panel.locator('.jp-heapscope-Chart .main-svg').first()).toBeVisible();
    for (const theme of ['light', 'dark'] as const) {
      if (theme === 'dark') {
        await page.theme.setDarkTheme();
      } else {
        await page.theme.setLightTheme();
      }
      const shot = (view: string) => panel.screenshot({ path: path.join(OUT!, `${theme}-${width}-${view}.png`) });
      await page.locator('#heapscope-panel .jp-heapscope-Panel-tab[data-view="timeline"]').click();
      await page.waitForTimeout(800);
      await shot('timeline');
      await badge(page, 'ones').click();
      const icicle = panel.locator('.jp-heapscope-Detail-icicleToggle');
      if ((await icicle.getAttribute('aria-expanded')) !== 'true') {
        await icicle.click();
      }
      await expect(panel.locator('.jp-heapscope-Icicle .main-svg').first()).toBeVisible();
      await page.waitForTimeout(800);
      await shot('cell');
      // A cell with many small sites: the "show N hidden" toggle, opened.
      await badge(page, 'import').click();
      const more = panel.locator('#heapscope-panel-cell .jp-heapscope-SiteList-toggle').first();
      await more.click();
      await page.waitForTimeout(500);
      await shot('cell-hidden');
      // The filter box and "my code only".
      await panel.locator('#heapscope-panel-cell .jp-heapscope-SiteQuery-text').fill('numpy');
      await page.waitForTimeout(300);
      await shot('cell-filtered');
      await panel.locator('#heapscope-panel-cell .jp-heapscope-SiteQuery-text').fill('');
      await page.locator('#heapscope-panel .jp-heapscope-Panel-tab[data-view="retained"]').click();
      await panel.locator('#heapscope-panel-retained .jp-heapscope-Toggle').first().click();
      await page.waitForTimeout(500);
      await shot('retained');
    }
  }
  // A whole-window view too, for the panel in its place.
  await page.screenshot({ path: path.join(OUT!, 'dark-800-window.png') });
  // A notebook on another kernel at 250 px: the switch button's label wraps.
  await openFixture(page, tmpPath, PLAIN_PYTHON);
  await page.sidebar.setWidth(250, 'right');
  await expect(panel.locator('.jp-heapscope-Panel-switch')).toBeVisible();
  for (const theme of ['light', 'dark'] as const) {
    if (theme === 'dark') {
      await page.theme.setDarkTheme();
    } else {
      await page.theme.setLightTheme();
    }
    await page.waitForTimeout(500);
    await panel.screenshot({ path: path.join(OUT!, `${theme}-250-switch.png`) });
  }
});
