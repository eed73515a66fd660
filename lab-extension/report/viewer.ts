/**
 * The viewer of the exported HTML report: a standalone script (compiled with its imports into
 * one file, report_assets/viewer.js) that renders the page from the report's JSON, embedded in
 * `<script type="application/json" id="heapscope-report-data">`. It uses `window.Plotly`
 * (plotly.min.js, inlined before it) and builds every node with `textContent`; it makes no
 * network request.
 */
import type { IFrame } from '../comm/protocol';
import { FALLBACK_THEME, IChartTheme } from '../chart/theme';
import { buildHeapFigure, CHART_CONFIG } from '../chart/traces';
import { formatBytes, formatSignedBytes } from '../format/bytes';
import { addGuardTraces } from '../guard/chartTraces';
import { createGuardDetail } from '../guard/detail';
import {
  reportChartStatus,
  reportGuardColours,
  reportGuardWarnings,
  reportLimitFact,
  reportStatusText
} from '../guard/reportText';
import { displayText, firstSourceLine } from '../format/text';
import { createRetainedList, createSiteList, createSiteQueryBar, SiteQuery } from '../sites/dom';
import { element } from '../sites/elements';
import { isMyCodeFrame } from '../sites/listing';
import { budgetCell, overBudgetLines } from '../budget/reportBudgets';
import { REPORT_DATA_ID, unpackReport } from './html';
import { createHoldersTable, createSharedList } from '../holders/table';
import { holdersSummary } from '../holders/holders';
import type { IReport, IReportCell } from './report';
import { peakBase, runSourceLookup } from '../sites/sites';

/**
 * The plotly calls the viewer makes.
 */
export interface IViewerPlotly {
  newPlot(node: HTMLElement, data: unknown[], layout: unknown, config: unknown): Promise<unknown>;
}

/**
 * Render a report into a node.
 *
 * @param root - the node to fill (emptied first).
 * @param report - the parsed report.
 * @param plotly - plotly.js, or null to leave the charts out.
 * @param theme - the charts' colours.
 */
export function renderReport(
  root: HTMLElement,
  report: IReport,
  plotly: IViewerPlotly | null,
  theme: IChartTheme = FALLBACK_THEME
): void {
  root.textContent = '';
  const cells = Array.isArray(report.cells) ? report.cells : [];
  const lookup = runSourceLookup(cells);
  const sections = new Map<IReportCell, HTMLDetailsElement>();
  const goTo = (cell: IReportCell | undefined) => {
    const section = cell && sections.get(cell);
    if (section) {
      section.open = true;
      section.scrollIntoView({ block: 'start' });
      section.querySelector('summary')?.focus();
    }
  };
  // One filter bar for every site list of the page. The report has no server root: "my code"
  // is notebook cell code.
  const query = new SiteQuery();
  const isMine = (frame: IFrame) => isMyCodeFrame(frame);
  const goToFrame = (frame: IFrame) => {
    goTo(
      cells.find(c => c.cell_id === frame.cell_id && c.execution_count === frame.execution_count) ??
        [...cells].reverse().find(c => c.cell_id !== null && c.cell_id === frame.cell_id)
    );
  };

  const path = report.target?.path ?? null;
  const header = element('header', 'hs-header');
  header.append(
    element('h1', '', 'Notebook memory report'),
    element('p', 'hs-target', path === null ? '(no path)' : displayText(path, 1024))
  );
  const status = report.kernel?.status ?? null;
  const facts: string[] = [];
  if (report.created_at !== undefined) {
    facts.push(`written ${new Date(report.created_at * 1000).toISOString().replace('T', ' ').slice(0, 19)} UTC`);
  }
  facts.push(`heapscope ${displayText(String(report.generator?.version ?? '?'), 40)}`);
  // Runs record their own mode: a session that switched says so, and each cell says its mode.
  const modes = [...new Set(cells.map(cell => cell.mode).filter(mode => mode !== undefined))].sort();
  const mixedModes = modes.length > 1;
  if (status) {
    facts.push(`Python ${displayText(status.python, 40)}`);
    facts.push(mixedModes ? `mixed modes (${modes.join(', ')}; per cell below)` : `${modes[0] ?? status.mode} mode`);
    facts.push(`profiler memory ${formatBytes(status.profiler_bytes)}`);
  } else if (mixedModes) {
    facts.push(`mixed modes (${modes.join(', ')}; per cell below)`);
  }
  const limitFact = reportLimitFact(report);
  if (limitFact) {
    facts.push(limitFact);
  }
  facts.push('1 MB = 1,000,000 bytes');
  header.appendChild(element('p', 'hs-facts', facts.join(' · ')));
  if (report.outcome && report.outcome.status !== 'ok') {
    header.appendChild(
      element('p', 'hs-warning', `${report.outcome.status}: ${displayText(report.outcome.message ?? '', 1024)}`)
    );
  }
  // The memory guard's stops and the kernel's deaths (post-mortems), as text.
  for (const warning of reportGuardWarnings(cells)) {
    header.appendChild(element('p', 'hs-warning hs-guard', warning));
  }
  // Every broken budget, as `heapscope report` prints it.
  for (const line of overBudgetLines(cells, report.retained_by_cell ?? null)) {
    header.appendChild(element('p', 'hs-warning hs-overBudget', `over budget: ${displayText(line, 1024)}`));
  }
  if (status?.degraded) {
    header.appendChild(element('p', 'hs-warning', 'The profiler ran out of bookkeeping memory: figures may be low.'));
  }
  // The agent's latest warnings (e.g. a setting it rejected), as text.
  for (const warning of (status?.warnings ?? []).slice(-5)) {
    header.appendChild(element('p', 'hs-warning', `kernel: ${displayText(warning, 1024)}`));
  }
  root.appendChild(header);
  if (typeof document !== 'undefined') {
    document.title = `Memory report · ${path === null ? 'notebook' : displayText(path, 200)}`;
  }

  // The chart.
  const chartSection = Private.section(root, 'Heap across executed cells');
  if (cells.length > 0 && plotly) {
    const node = element('div', 'hs-chart');
    chartSection.appendChild(node);
    const figure = addGuardTraces(
      buildHeapFigure({ cells, running: null }, theme),
      cells,
      cells.length,
      reportChartStatus(report),
      reportGuardColours(theme)
    );
    void plotly
      .newPlot(node, figure.data, { ...figure.layout, height: 320 }, { ...CHART_CONFIG, responsive: true })
      .then(() => {
        const plot = node as HTMLElement & {
          on?: (
            event: string,
            handler: (e: { points?: { curveNumber: number; pointIndex: number }[] }) => void
          ) => void;
        };
        plot.on?.('plotly_click', event => {
          const point = event?.points?.[0];
          if (point && point.curveNumber === 0) {
            goTo(cells[point.pointIndex]);
          }
        });
      });
  } else {
    chartSection.appendChild(element('p', 'hs-empty', cells.length ? 'The chart library is missing.' : 'No cell ran.'));
  }

  // The per-cell table.
  const tableSection = Private.section(root, 'Cells');
  const scroller = element('div', 'hs-table-scroll');
  const table = scroller.appendChild(element('table', 'hs-table'));
  const head = element('tr', '');
  for (const title of ['Cell', 'Source', 'Status', 'Start', 'Peak', 'End', 'Net', 'Peak added', 'Allocated']) {
    const th = head.appendChild(
      element('th', title === 'Cell' || title === 'Source' || title === 'Status' ? '' : 'hs-num', title)
    );
    th.scope = 'col';
  }
  // A budget column when a cell has a budget (docs/ci.md).
  const hasBudgets = cells.some(cell => cell.budget !== undefined);
  if (hasBudgets) {
    head.appendChild(element('th', '', 'Budget')).scope = 'col';
  }
  table.appendChild(element('thead', '')).appendChild(head);
  const body = table.appendChild(element('tbody', ''));
  cells.forEach(cell => {
    const row = element('tr', cell.status === 'ok' ? '' : 'hs-mod-failed');
    const link = element('button', 'hs-link', `[${cell.execution_count ?? '?'}]`);
    link.type = 'button';
    link.title = 'Show where this cell’s memory was allocated';
    link.addEventListener('click', () => goTo(cell));
    row.appendChild(element('td', '')).appendChild(link);
    row.append(
      element('td', 'hs-source', displayText(firstSourceLine(cell.source), 120)),
      element('td', '', reportStatusText(cell)),
      element('td', 'hs-num', formatBytes(cell.start_bytes)),
      element('td', 'hs-num', formatBytes(cell.peak_bytes)),
      element('td', 'hs-num', formatBytes(cell.end_bytes)),
      element('td', 'hs-num', formatSignedBytes(cell.end_bytes - cell.start_bytes)),
      element('td', 'hs-num', formatSignedBytes(cell.peak_bytes - cell.start_bytes)),
      element('td', 'hs-num', cell.allocated_bytes === undefined ? '' : formatBytes(cell.allocated_bytes))
    );
    if (hasBudgets) {
      row.appendChild(budgetCell(cell));
    }
    body.appendChild(row);
  });
  tableSection.appendChild(scroller);

  // Each cell's top lines: one closed <details> per cell, its lists drawn when first opened.
  const detailSection = Private.section(root, 'Where each cell’s memory was allocated');
  detailSection.appendChild(createSiteQueryBar(query, { myCodeTitle: Private.MY_CODE_TITLE }));
  detailSection.appendChild(element('p', 'hs-hint', 'Open a cell to see its lines; the filter applies to every list.'));
  cells.forEach((cell, i) => {
    const section = element('details', 'hs-cell');
    section.id = `hs-cell-${i}`;
    const summary = element('summary', 'hs-cell-summary');
    summary.append(
      element('h3', '', Private.label(cell)),
      element(
        'span',
        'hs-facts',
        `net ${formatSignedBytes(cell.end_bytes - cell.start_bytes)} · peak ${formatSignedBytes(cell.peak_bytes - cell.start_bytes)} ` +
          `(heap ${formatBytes(cell.start_bytes)} → ${formatBytes(cell.peak_bytes)} → ${formatBytes(cell.end_bytes)})` +
          (mixedModes && cell.mode !== undefined ? ` · ${cell.mode} mode` : '') +
          (cell.status !== 'ok' ? ` · ${reportStatusText(cell)}` : '')
      )
    );
    section.appendChild(summary);
    let built = false;
    const build = () => {
      if (built) {
        return;
      }
      built = true;
      const source = element('pre', 'hs-code');
      source.textContent = cell.source
        .split('\n')
        .slice(0, Private.MAX_SOURCE_LINES)
        .map((line: string) => displayText(line, 400))
        .join('\n');
      section.appendChild(source);
      // Heap Δ beside RSS Δ, a guard stop, a post-mortem (its lines: the list below).
      const guard = createGuardDetail(cell);
      if (guard) {
        section.appendChild(guard);
      }
      if (cell.top_at_peak === undefined && cell.retained === undefined) {
        section.appendChild(element('p', 'hs-empty', 'No line-level attribution for this cell.'));
        return;
      }
      const base = peakBase(cell);
      const label = Private.label(cell);
      section.appendChild(
        element('h4', '', cell.status === 'killed' ? 'Top lines at the last sample' : 'Top lines at the peak')
      );
      section.appendChild(
        createSiteList(cell.top_at_peak ?? [], {
          base,
          lookup,
          onNavigate: goToFrame,
          emptyText: 'Nothing held at the peak.',
          query,
          isMine,
          label: `${label} · top lines at the peak`
        })
      );
      section.appendChild(element('h4', '', 'Retained when the cell ended'));
      section.appendChild(
        createSiteList(cell.retained ?? [], {
          base,
          lookup,
          onNavigate: goToFrame,
          emptyText: 'Nothing retained.',
          query,
          isMine,
          label: `${label} · retained when the cell ended`
        })
      );
    };
    section.addEventListener('toggle', () => {
      if (section.open) {
        build();
      }
    });
    sections.set(cell, section);
    detailSection.appendChild(section);
  });

  // Retained by cell.
  const retainedSection = Private.section(root, 'Heap alive at the end, by the cell that allocated it');
  const retained = report.retained_by_cell;
  retainedSection.appendChild(
    Array.isArray(retained)
      ? createRetainedList(retained, { lookup, onNavigate: goToFrame, query, isMine })
      : element('p', 'hs-empty', 'Not available (no line-level attribution).')
  );

  // Who holds it (absent when the report was written without holders).
  if (report.holders !== undefined) {
    const holdersSection = Private.section(root, 'Who holds the memory at the end');
    holdersSection.id = 'hs-holders';
    const holders = report.holders;
    if (holders === null) {
      holdersSection.appendChild(element('p', 'hs-empty', 'Not available: the holders scan could not run.'));
    } else {
      holdersSection.appendChild(
        element(
          'p',
          'hs-hint',
          `${holdersSummary(holders)}. Frees: what deleting that name alone would free; reachable: everything it reaches, memory shared with other names included. Open a row for its allocation sites.`
        )
      );
      const shared = createSharedList(holders);
      if (shared) {
        holdersSection.appendChild(shared);
      }
      holdersSection.appendChild(
        createHoldersTable(holders, {
          lookup,
          onNavigate: goToFrame,
          onJumpToCell: holder =>
            goTo(
              cells.find(c => c.cell_id === holder.cell_id && c.execution_count === holder.execution_count) ??
                [...cells].reverse().find(c => c.cell_id !== null && c.cell_id === holder.cell_id)
            ),
          canJumpToCell: holder =>
            holder.kind !== 'other' && holder.cell_id !== null && cells.some(c => c.cell_id === holder.cell_id),
          query,
          isMine
        })
      );
    }
  }
}

/**
 * The chart colours of the report page, following the reader's colour scheme.
 *
 * @param dark - whether the page is dark.
 */
export function reportTheme(dark: boolean): IChartTheme {
  return dark
    ? {
        ...FALLBACK_THEME,
        background: '#111111',
        foreground: 'rgba(255, 255, 255, 0.87)',
        grid: '#424242',
        heap: '#64b5f6',
        onHeap: '#000000',
        peak: '#ffb74d',
        running: '#81c784'
      }
    : FALLBACK_THEME;
}

/**
 * Render the page from the embedded JSON (the entry point of viewer.js).
 */
export function main(): void {
  const root = document.getElementById('heapscope-report') ?? document.body;
  try {
    const text = document.getElementById(REPORT_DATA_ID)?.textContent ?? 'null';
    const report = unpackReport(JSON.parse(text) as IReport);
    if (!report || report.heapscope_report !== 2) {
      throw new Error('this is not a heapscope report (version 2)');
    }
    const dark = typeof matchMedia === 'function' && matchMedia('(prefers-color-scheme: dark)').matches;
    const plotly = (window as Window & { Plotly?: IViewerPlotly }).Plotly ?? null;
    renderReport(root, report, plotly, reportTheme(dark));
  } catch (error) {
    root.textContent = `The report could not be shown: ${String(error)}`;
  }
}

/**
 * A module-private namespace.
 */
namespace Private {
  /**
   * What "my code only" means in the report, in the check box's tooltip.
   */
  export const MY_CODE_TITLE =
    'Count each site at the innermost notebook cell line on its stack (the report has no server root: files are not your code here)';

  /**
   * Longer cell sources are cut.
   */
  export const MAX_SOURCE_LINES = 200;

  /**
   * Append a titled section.
   */
  export function section(root: HTMLElement, title: string): HTMLElement {
    const node = element('section', 'hs-section');
    node.appendChild(element('h2', '', title));
    root.appendChild(node);
    return node;
  }

  /**
   * `[3] x = np.ones(…)`.
   */
  export function label(cell: IReportCell): string {
    return `[${cell.execution_count ?? '?'}] ${displayText(firstSourceLine(cell.source), 60)}`;
  }
}
