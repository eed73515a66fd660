import { MessageLoop } from '@lumino/messaging';
import { Widget } from '@lumino/widgets';

import { BURST_GAP_MS, HeapChart, MAX_DRAW_SHARE, MIN_REDRAW_MS } from './widget';
import { HeapModel } from '../model/model';
import { cellPayload, cellStartPayload, statusPayload } from '../testing/fixtures';

// jsdom cannot run plotly: replace it (and only it) with a recorder.
const plotly = {
  react: jest.fn(() => Promise.resolve()),
  relayout: jest.fn(() => Promise.resolve()),
  purge: jest.fn(),
  Plots: { resize: jest.fn(() => Promise.resolve()) },
  Fx: { unhover: jest.fn() }
};
jest.mock('plotly.js-dist-min', () => ({ __esModule: true, default: plotly }));

/** Process pending Lumino messages and the promises they start. */
async function settle(ms = 0): Promise<void> {
  MessageLoop.flush();
  if (ms > 0) {
    await new Promise(resolve => setTimeout(resolve, ms));
  }
  for (let i = 0; i < 5; i++) {
    await new Promise(resolve => setTimeout(resolve, 20));
    MessageLoop.flush();
  }
}

/** A model holding two finished runs. */
function modelWithCells(): HeapModel {
  const model = new HeapModel();
  model.apply({
    type: 'history',
    status: statusPayload(),
    cells: [cellPayload({ cell_id: 'a', started_at: 1 }), cellPayload({ cell_id: 'b', started_at: 2 })],
    running: null
  });
  return model;
}

describe('HeapChart', () => {
  let chart: HeapChart;

  beforeEach(() => {
    jest.clearAllMocks();
    chart = new HeapChart();
  });

  afterEach(() => {
    chart.dispose();
  });

  it('draws the model into a plot node inside .jp-heapscope-Chart', async () => {
    Widget.attach(chart, document.body);
    chart.model = modelWithCells();
    await settle();

    expect(plotly.react).toHaveBeenCalledTimes(1);
    const [node, data, layout, config] = plotly.react.mock.calls[0] as unknown as any[];
    expect(chart.node.classList.contains('jp-heapscope-Chart')).toBe(true);
    expect(node.parentElement).toBe(chart.node);
    expect(data[0].customdata).toEqual(['a', 'b']);
    expect(layout.xaxis.ticktext.map((t: string) => t.split('<br>')[0])).toEqual(['[3]', '[3]']);
    expect(config.displaylogo).toBe(false);
  });

  it('does not draw an empty model', async () => {
    Widget.attach(chart, document.body);
    chart.model = new HeapModel();
    await settle();
    expect(plotly.react).not.toHaveBeenCalled();
  });

  it('redraws once for a burst of changes', async () => {
    Widget.attach(chart, document.body);
    const model = modelWithCells();
    chart.model = model;
    await settle();
    model.apply({ type: 'cell_start', cell: cellStartPayload({ cell_id: 'c' }) });
    model.apply({ type: 'cell', cell: cellPayload({ cell_id: 'c', started_at: 3 }) });
    model.apply({ type: 'status', status: statusPayload() });
    await settle(MIN_REDRAW_MS);
    expect(plotly.react).toHaveBeenCalledTimes(2);
    const data = (plotly.react.mock.calls[1] as unknown as any[])[1];
    expect(data[0].customdata).toEqual(['a', 'b', 'c']);
  });

  it('redraws a few times a second at most while cells run, reusing its arrays', async () => {
    Widget.attach(chart, document.body);
    const model = modelWithCells();
    chart.model = model;
    await settle();
    const started = Date.now();
    for (let i = 0; i < 60; i++) {
      model.apply({ type: 'cell_start', cell: cellStartPayload({ cell_id: `c${i}`, seq: 10 + i }) });
      model.apply({ type: 'cell', cell: cellPayload({ cell_id: `c${i}`, seq: 10 + i, started_at: 10 + i }) });
      await new Promise(resolve => setTimeout(resolve, 10));
    }
    await settle(MIN_REDRAW_MS);
    const elapsed = Date.now() - started;
    const draws = plotly.react.mock.calls.length - 1;
    expect(draws).toBeGreaterThanOrEqual(1);
    expect(draws).toBeLessThanOrEqual(Math.ceil(elapsed / MIN_REDRAW_MS) + 1);
    const calls = plotly.react.mock.calls as unknown as any[][];
    const last = calls[calls.length - 1][1];
    expect(last[0].x).toHaveLength(62);
    // The same arrays, grown in place.
    expect(last[0].x).toBe(calls[0][1][0].x);
  });

  /** Attach the chart to a model of two runs, with plotly taking `drawMs` a draw; then `check(model)`. */
  async function withSlowDraws(drawMs: number, check: (model: HeapModel) => Promise<void>): Promise<void> {
    plotly.react.mockImplementation(() => new Promise<void>(resolve => setTimeout(resolve, drawMs)));
    try {
      Widget.attach(chart, document.body);
      const model = modelWithCells();
      chart.model = model;
      await settle(drawMs);
      await check(model);
    } finally {
      plotly.react.mockImplementation(() => Promise.resolve());
    }
  }

  it('spaces its redraws by its own draw time: drawing takes at most MAX_DRAW_SHARE of the run', async () => {
    const drawMs = 40; // a large chart: each draw takes this long
    await withSlowDraws(drawMs, async model => {
      const started = Date.now();
      for (let i = 0; i < 60; i++) {
        model.apply({ type: 'cell', cell: cellPayload({ cell_id: `c${i}`, seq: 10 + i, started_at: 10 + i }) });
        await new Promise(resolve => setTimeout(resolve, 20));
      }
      await settle(drawMs);
      const elapsed = Date.now() - started;
      const draws = plotly.react.mock.calls.length - 1;
      const spacing = drawMs / MAX_DRAW_SHARE; // >= 800 ms, where the base rate would allow 250 ms
      expect(draws).toBeGreaterThanOrEqual(1);
      expect(draws).toBeLessThanOrEqual(Math.ceil(elapsed / spacing) + 1);
      expect(draws).toBeLessThan(Math.floor(elapsed / MIN_REDRAW_MS));
    });
  });

  it('hides the range slider while runs arrive in a burst, and brings it back after', async () => {
    const slider = (call: number) => {
      const calls = plotly.react.mock.calls as unknown as any[][];
      return calls[call < 0 ? calls.length + call : call][2].xaxis.rangeslider.visible;
    };
    Widget.attach(chart, document.body);
    const model = new HeapModel();
    const runs = Array.from({ length: 40 }, (_, i) => cellPayload({ cell_id: `r${i}`, seq: i, started_at: i }));
    model.apply({ type: 'history', status: statusPayload(), cells: runs, running: null });
    chart.model = model;
    await settle();
    expect(slider(-1)).toBe(true);
    // One run on its own (a cell run by hand): no burst, the slider stays.
    model.apply({ type: 'cell', cell: cellPayload({ cell_id: 'one', seq: 100, started_at: 100 }) });
    await settle(MIN_REDRAW_MS);
    expect(slider(-1)).toBe(true);
    await new Promise(resolve => setTimeout(resolve, BURST_GAP_MS));
    // A Run All: runs 20 ms apart.
    for (let i = 0; i < 10; i++) {
      model.apply({ type: 'cell', cell: cellPayload({ cell_id: `b${i}`, seq: 200 + i, started_at: 200 + i }) });
      await new Promise(resolve => setTimeout(resolve, 20));
    }
    await settle(MIN_REDRAW_MS);
    const during = plotly.react.mock.calls.length;
    expect(slider(-1)).toBe(false);
    await settle(BURST_GAP_MS);
    expect(plotly.react.mock.calls.length).toBeGreaterThan(during);
    expect(slider(-1)).toBe(true);
  });

  it('redraws for a new width soon, even when a slow draw spaced its next redraw far apart', async () => {
    const drawMs = 60; // the next draw for cells would wait drawMs / MAX_DRAW_SHARE = 1.2 s
    await withSlowDraws(drawMs, async model => {
      model.apply({ type: 'cell', cell: cellPayload({ cell_id: 'c', seq: 3, started_at: 3 }) });
      await settle(drawMs); // a redraw for the cell: the next one for cells waits 1.2 s
      const drawn = plotly.react.mock.calls.length;
      expect(drawn).toBe(2);
      // The sidebar is made wider: the plot node's width changes (jsdom lays nothing out).
      Object.defineProperty(chart.node.querySelector('.jp-heapscope-Chart-plot')!, 'clientWidth', { value: 900 });
      MessageLoop.sendMessage(chart, Widget.ResizeMessage.UnknownSize);
      await new Promise(resolve => setTimeout(resolve, drawMs + 100));
      MessageLoop.flush();
      await settle(drawMs);
      expect(drawMs + 300).toBeLessThan(drawMs / MAX_DRAW_SHARE);
      expect(plotly.react.mock.calls.length).toBe(drawn + 1);
    });
  });

  it('does not draw while hidden and catches up once when shown', async () => {
    Widget.attach(chart, document.body);
    const model = modelWithCells();
    chart.model = model;
    await settle();
    chart.hide();
    for (let i = 0; i < 20; i++) {
      model.apply({ type: 'cell', cell: cellPayload({ cell_id: `h${i}`, seq: 100 + i }) });
    }
    await settle(MIN_REDRAW_MS);
    expect(plotly.react).toHaveBeenCalledTimes(1);
    chart.show();
    await settle(MIN_REDRAW_MS);
    expect(plotly.react).toHaveBeenCalledTimes(2);
    expect((plotly.react.mock.calls[1] as unknown as any[])[1][0].x).toHaveLength(22);
  });

  it('takes its hover label down when hidden', async () => {
    Widget.attach(chart, document.body);
    chart.model = modelWithCells();
    await settle();
    const stale = document.createElement('g');
    const layer = document.createElement('g');
    layer.className = 'hoverlayer';
    layer.appendChild(stale);
    chart.node.querySelector('.jp-heapscope-Chart-plot')!.appendChild(layer);
    chart.hide();
    expect(plotly.Fx.unhover).toHaveBeenCalledTimes(1);
    expect(layer.childElementCount).toBe(0);
  });

  it('switches the y scale from its select', async () => {
    Widget.attach(chart, document.body);
    chart.model = modelWithCells();
    await settle();
    const select = chart.node.querySelector('select.jp-heapscope-Chart-scale') as HTMLSelectElement;
    expect(Array.from(select.options).map(o => o.textContent)).toEqual(['linear', 'log', 'clip outliers']);
    select.value = 'log';
    select.dispatchEvent(new Event('change'));
    await settle();
    expect(chart.scale).toBe('log');
    expect(chart.node.dataset.scale).toBe('log');
    const calls = plotly.react.mock.calls as unknown as any[][];
    expect(calls[calls.length - 1][2].yaxis.type).toBe('log');
  });

  it('waits until it is shown', async () => {
    chart.hide();
    Widget.attach(chart, document.body);
    chart.model = modelWithCells();
    await settle();
    expect(plotly.react).not.toHaveBeenCalled();
    chart.show();
    await settle();
    expect(plotly.react).toHaveBeenCalledTimes(1);
  });

  it('resizes the plot with the widget', async () => {
    Widget.attach(chart, document.body);
    chart.model = modelWithCells();
    await settle();
    MessageLoop.sendMessage(chart, Widget.ResizeMessage.UnknownSize);
    expect(plotly.Plots.resize).toHaveBeenCalledTimes(1);
  });

  it('purges the plot when the model is cleared and when disposed', async () => {
    Widget.attach(chart, document.body);
    const model = modelWithCells();
    chart.model = model;
    await settle();
    model.clear();
    await settle(MIN_REDRAW_MS);
    expect(plotly.purge).toHaveBeenCalledTimes(1);

    model.apply({ type: 'cell', cell: cellPayload() });
    await settle(MIN_REDRAW_MS);
    chart.dispose();
    chart.dispose();
    expect(plotly.purge).toHaveBeenCalledTimes(2);
  });
});
