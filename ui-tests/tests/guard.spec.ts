/**
 * The memory guard in the browser (issue 12), with a real limit: RLIMIT_AS set in the kernel at its
 * address space plus 3 GiB (the guard counts the address space against it; the post-mortem keeps the
 * open run's lines once its heap passes half the limit, so the headroom must be well above the
 * kernel's own address space).
 *
 * - a cell over the soft threshold (80 %): its badge and the panel turn amber, one notification;
 * - a cell the guard stops: the badge says "stopped by heapscope at … of …", and so does the detail;
 * - the chart draws the limit and the soft threshold as lines and RSS beside the heap;
 * - "Return freed memory" (toolbar button, then the palette command) says what came back, and says
 *   clearly when nothing did or when the kernel is not heapscope;
 * - a kernel killed (SIGKILL) while a cell holds most of the limit: after the automatic restart the
 *   panel keeps the earlier runs, the badge says killed, and the post-mortem names the cell, heap, RSS,
 *   the likely cause and the line that held the memory (which jumps to the cell).
 *
 * HEAPSCOPE_SCREENSHOTS=<folder> also writes the panel in the amber and post-mortem states, light and
 * dark, 250 and 800 px wide.
 */
import { expect, IJupyterLabPageFixture, test } from '@jupyterlab/galata';
import * as fs from 'fs';
import * as path from 'path';

import { badge, eachWidthAndTheme, notebookFile, openFixture } from './helpers';
import { PLAIN_PYTHON } from './uiHelpers';

test.use({ autoGoto: true, viewport: { width: 1400, height: 900 } });

const HEADROOM = 3 * 1024 * 1024 * 1024;
const SHOTS = process.env.HEAPSCOPE_SCREENSHOTS;
const PANEL = '#heapscope-panel';
const CHART = `${PANEL} .jp-heapscope-Chart`;

/**
 * The first cell sets the kernel's limit: RLIMIT_AS at its address space now plus HEADROOM (what
 * tests/test_guard.py falls back to without a writable cgroup; a cgroup joined after the kernel started
 * would leave its first pages charged elsewhere). The limit is read again at every run start; usage
 * against it is the address space (VmSize), which `vm()` reads.
 */
const LIMIT_CELL =
  'import os, time, gc, resource\n' +
  'import numpy as np\n' +
  'def vm():\n' +
  '    return int(open("/proc/self/statm").read().split()[0]) * os.sysconf("SC_PAGE_SIZE")\n' +
  `LIMIT = vm() + ${HEADROOM}\n` +
  'resource.setrlimit(resource.RLIMIT_AS, (LIMIT, resource.RLIM_INFINITY))\n' +
  'print("LIMIT", LIMIT)';

/** Run the limit cell; returns the limit in bytes. */
async function limitKernel(page: IJupyterLabPageFixture): Promise<number> {
  await page.notebook.runCell(0);
  const output = await page
    .locator('.jp-Cell[data-windowed-list-index="0"] .jp-OutputArea-output')
    .first()
    .textContent();
  const limit = Number(/LIMIT (\d+)/.exec(output ?? '')?.[1]);
  expect(limit).toBeGreaterThan(HEADROOM);
  return limit;
}

/** Every notification JupyterLab holds now (galata's API). */
async function notifications(page: IJupyterLabPageFixture): Promise<Array<{ message: string; type: string }>> {
  return page.evaluate(async () => {
    const list = await (window as any).galata.getNotifications();
    return list.map((n: any) => ({ message: n.message as string, type: n.type as string }));
  });
}

/** The chart's traces by name. */
async function traces(page: IJupyterLabPageFixture): Promise<{ [name: string]: { visible: unknown; y: unknown[] } }> {
  return page.evaluate(selector => {
    const node = document.querySelector(`${selector} .js-plotly-plot`) as any;
    const out: { [name: string]: { visible: unknown; y: unknown[] } } = {};
    for (const trace of node?.data ?? []) {
      out[trace.name] = { visible: trace.visible ?? true, y: Array.from(trace.y ?? []) };
    }
    return out;
  }, CHART);
}

async function openPanel(page: IJupyterLabPageFixture, width = 400): Promise<void> {
  await page.sidebar.openTab('heapscope-panel');
  await page.sidebar.setWidth(width, 'right');
}

/** Panel screenshots, light and dark, 250 and 800 px (only with HEAPSCOPE_SCREENSHOTS). */
async function screenshots(page: IJupyterLabPageFixture, state: string, before?: () => Promise<void>): Promise<void> {
  if (!SHOTS) {
    return;
  }
  fs.mkdirSync(SHOTS, { recursive: true });
  await eachWidthAndTheme(page, [250, 800], async (theme, width) => {
    await before?.();
    await page.waitForTimeout(800);
    await page.locator(PANEL).screenshot({ path: path.join(SHOTS, `guard-${state}-${theme}-${width}.png`) });
  });
  await page.theme.setLightTheme();
  await page.sidebar.setWidth(400, 'right');
}

test.describe('memory guard', () => {
  test('amber at the soft threshold, a guard stop, the limit line, Return freed memory', async ({ page, tmpPath }) => {
    test.setTimeout(240000);
    const sources = [
      LIMIT_CELL,
      'keep = list(range(1000))',
      // Up to 86 % of the limit: over the soft threshold (80 %), under the hard one (95 %); the guard's
      // thread reads usage every second while the run is open.
      'grow = np.ones(int(0.86 * LIMIT - vm()) // 8)\ntime.sleep(2.5)',
      'big = np.ones(2 * LIMIT // 8)',
      // Freed memory the allocator keeps: 150 MB of 100 kB blocks under a last one that pins the heap top.
      'del grow\n' +
        'import sys; sys.last_value = sys.last_traceback = sys.last_exc = None\n' +
        'blocks = [bytearray(100_000) for _ in range(1500)]\n' +
        'pin = bytearray(100_000)\n' +
        'del blocks\ngc.collect()'
    ];
    const name = 'guard_soft.ipynb';
    await openFixture(page, tmpPath, notebookFile(name, sources));
    await openPanel(page);
    const limit = await limitKernel(page);
    await page.notebook.runCell(1);
    const panel = page.locator(PANEL);
    // The limit is read again at each run start, with its source.
    await expect(panel.locator('.jp-heapscope-GuardBanner-memory')).toContainText(/^limit [\d.]+ GB \(RLIMIT_AS\)/);

    // Soft threshold.
    await page.notebook.runCell(2);
    // The toast (it closes itself after 10 s).
    await expect(page.locator('[class*="jp-Notification-Toast-warning"]', { hasText: 'cell [3] is at' })).toBeVisible();
    await expect(badge(page, 'c2')).toHaveClass(/jp-mod-memoryWarning/);
    await expect(panel).toHaveClass(/jp-mod-memoryWarning/);
    const warningLine = panel.locator('.jp-heapscope-GuardBanner-warning');
    await expect(warningLine).toContainText(/cell \[3\] is at 8\d % of the [\d.]+ GB limit \(rlimit_as\)/);
    // The other badges are not amber.
    await expect(badge(page, 'c1')).not.toHaveClass(/jp-mod-memoryWarning/);
    const soft = new RegExp(`^cell \\[3\\] is at 8\\d % of the [\\d.]+ GB limit \\(rlimit_as\\) — ${name}$`);
    await expect.poll(async () => (await notifications(page)).filter(n => soft.test(n.message)).length).toBe(1);
    expect((await notifications(page)).find(n => soft.test(n.message))!.type).toBe('warning');

    // The chart: the limit and the soft threshold inside the plot and in the legend, RSS beside the heap.
    await panel.locator('.jp-heapscope-Panel-tab[data-view="timeline"]').click();
    await expect(page.locator(`${CHART} .main-svg`).first()).toBeVisible();
    await expect
      .poll(async () => {
        const t = await traces(page);
        return [t.limit?.visible, t.limit?.y, t['soft threshold']?.y?.[0], t.RSS?.visible];
      })
      .toEqual([true, [limit, limit], 0.8 * limit, true]);
    await expect(page.locator(`${CHART} .legend .traces .legendtext`)).toHaveText([
      'peak',
      'start',
      'end',
      'live',
      'RSS',
      'limit',
      'soft threshold'
    ]);
    await screenshots(page, 'amber', async () => {
      await panel.locator('.jp-heapscope-Panel-tab[data-view="timeline"]').click();
    });

    // The guard stops the next cell: MemoryError, the kernel lives, the badge says so.
    await page.notebook.runCell(3);
    await expect(badge(page, 'c3')).toHaveAttribute('data-outcome', 'guard');
    await expect(badge(page, 'c3')).toContainText(/stopped by heapscope at [\d.]+ [kMG]?B of [\d.]+ GB/);
    await expect(badge(page, 'c3')).toHaveClass(/jp-mod-guard/);
    await expect(badge(page, 'c3').locator('.jp-heapscope-badge-outcome svg')).toHaveCount(1);
    // The soft warning went with the next run; the panel now says the cell was stopped.
    await expect(panel).not.toHaveClass(/jp-mod-memoryWarning/);
    await expect(warningLine).toContainText(/Cell \[4\] was stopped by heapscope at [\d.]+ [kMG]?B of [\d.]+ GB/);
    // Still amber: the run that crossed the soft threshold.
    await expect(badge(page, 'c2')).toHaveClass(/jp-mod-memoryWarning/);
    await expect
      .poll(async () => (await notifications(page)).filter(n => n.message.startsWith('Cell [4] was stopped')).length)
      .toBe(1);
    await badge(page, 'c3').click();
    const detail = panel.locator('#heapscope-panel-cell');
    await expect(detail.locator('.jp-heapscope-GuardDetail-headline')).toHaveText(
      /^stopped by heapscope at [\d.]+ [kMG]?B of [\d.]+ GB(: a request for [\d.]+ [kMG]?B more was refused)?$/
    );
    await expect(detail.locator('.jp-heapscope-GuardDetail-deltas')).toContainText(/heap Δ .* · RSS Δ /);
    await expect(detail.locator('.jp-heapscope-GuardDetail-gap summary')).toContainText(
      /RSS was .* (above|below) the heap/
    );
    await screenshots(page, 'stopped-detail');

    // Return freed memory: the toolbar button, with 150 MB of freed blocks the allocator kept.
    await page.notebook.runCell(4);
    await expect(badge(page, 'c4')).toHaveCount(1);
    await panel.locator('.jp-heapscope-Panel-toolbar [data-command="heapscope:release-memory"]').click();
    const released = panel.locator('.jp-heapscope-GuardBanner-released');
    await expect(released).toContainText(/^Returned [\d.]+ (MB|GB) of freed memory to the system \(RSS .* → .*\)\.$/);
    const back = /^Returned ([\d.]+) MB/.exec((await released.textContent()) ?? '');
    expect(Number(back?.[1] ?? 1000)).toBeGreaterThan(50);
    // The palette command again: nothing left to give back, said clearly.
    await page.evaluate(() => (window as any).jupyterapp.commands.execute('heapscope:release-memory'));
    await expect(released).toContainText(/^Nothing to return/);
    await expect
      .poll(async () => (await notifications(page)).filter(n => n.message.startsWith('Nothing to return')).length)
      .toBe(1);

    // A notebook on the plain python3 kernel: the command says why it cannot.
    await openFixture(page, tmpPath, PLAIN_PYTHON);
    await expect(panel.locator('.jp-heapscope-Panel-switch')).toBeVisible();
    await page.evaluate(() => (window as any).jupyterapp.commands.execute('heapscope:release-memory'));
    await expect(released).toContainText('does not run heapscope');
  });

  test('a post-mortem after the kernel is killed in a cell', async ({ page, tmpPath }) => {
    test.setTimeout(240000);
    const sources = [
      LIMIT_CELL,
      'keep = list(range(1000))',
      // 85 % of the limit held, a second for the snapshot to see it, then SIGKILL (what the OOM killer sends).
      'hold = np.ones(int(0.85 * LIMIT - vm()) // 8)\ntime.sleep(2.5)\nos.kill(os.getpid(), 9)'
    ];
    await openFixture(page, tmpPath, notebookFile('guard_killed.ipynb', sources));
    await openPanel(page);
    await limitKernel(page);
    await page.notebook.runCell(1);
    await expect(badge(page, 'c1')).toHaveAttribute('data-outcome', 'ok');
    // Run the last cell without waiting for a reply that never comes.
    await page.notebook.selectCells(2);
    await page.evaluate(() => {
      void (window as any).jupyterapp.commands.execute('notebook:run-cell');
    });
    // The next kernel read the snapshot: the dead run comes back as killed; the earlier runs stay.
    // (JupyterLab may say "the kernel appears to have died" in a dialog meanwhile: closed.)
    const dialog = page.locator('.jp-Dialog');
    await expect
      .poll(
        async () => {
          if (await dialog.isVisible()) {
            await dialog.locator('.jp-Dialog-button.jp-mod-accept').click();
          }
          return badge(page, 'c2').getAttribute('data-outcome');
        },
        { timeout: 90000 }
      )
      .toBe('killed');
    await expect(badge(page, 'c2')).toContainText('killed');
    await expect(badge(page, 'c2')).toHaveClass(/jp-mod-killed/);
    await expect(badge(page, 'c1')).toHaveAttribute('data-outcome', 'ok');
    const panel = page.locator(PANEL);
    const box = panel.locator('.jp-heapscope-GuardBanner-postMortem');
    await expect(box).toBeVisible();
    await expect(box).toContainText(
      /The kernel died while running cell \[3\]: most likely out of memory: it died close to its memory limit\. Last seen with heap [\d.]+ GB, RSS [\d.]+ GB of [\d.]+ GB \(RLIMIT_AS\)\./
    );
    await expect
      .poll(async () =>
        (await notifications(page)).filter(n => n.message.startsWith('The kernel died while running cell [3]'))
      )
      .toHaveLength(1);
    expect((await notifications(page)).find(n => n.message.startsWith('The kernel died'))!.type).toBe('error');
    await screenshots(page, 'postmortem');

    // The lines it held, in the cell detail, clickable as elsewhere: the np.ones line of the cell.
    await box.locator('.jp-heapscope-GuardBanner-show').click();
    const detail = panel.locator('#heapscope-panel-cell');
    await expect(detail).toBeVisible();
    await expect(detail.locator('.jp-heapscope-PostMortem dt')).toHaveText([
      'likely cause',
      'heap',
      'RSS',
      'usage',
      'last sample',
      'process'
    ]);
    await expect(detail.locator('.jp-heapscope-Detail-heading').first()).toHaveText('Top lines at the last sample');
    await screenshots(page, 'postmortem-detail');
    const row = detail.locator('.jp-heapscope-Site').first();
    await expect(row).toContainText('np.ones');
    await page.notebook.selectCells(0);
    await row.locator('.jp-heapscope-Jump', { hasText: 'cell [3]' }).click();
    await expect(page.locator('.jp-Cell.jp-mod-active')).toHaveAttribute('data-windowed-list-index', '2');

    // The post-mortem box can be closed; the badge keeps saying killed.
    await panel.locator('.jp-heapscope-GuardBanner-dismiss').click();
    await expect(box).toBeHidden();
    await expect(badge(page, 'c2')).toHaveAttribute('data-outcome', 'killed');
  });
});
