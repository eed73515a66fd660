import { MessageLoop } from '@lumino/messaging';
import { Widget } from '@lumino/widgets';

import { HeapChart } from './widget';
import { HeapModel } from '../model/model';
import { cellPayload, cellStartPayload, statusPayload } from '../testing/fixtures';

// jsdom cannot run plotly: replace it (and only it) with a recorder.
const plotly = {
  react: jest.fn(() => Promise.resolve()),
  purge: jest.fn(),
  Plots: { resize: jest.fn(() => Promise.resolve()) }
};
jest.mock('plotly.js-dist-min', () => ({ __esModule: true, default: plotly }));

/** Process pending Lumino messages and the promises they start. */
async function settle(): Promise<void> {
  MessageLoop.flush();
  for (let i = 0; i < 5; i++) {
    await new Promise(resolve => setTimeout(resolve, 0));
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
    expect(layout.xaxis.ticktext).toEqual(['[3]', '[3]']);
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
    await settle();
    expect(plotly.react).toHaveBeenCalledTimes(2);
    const data = (plotly.react.mock.calls[1] as unknown as any[])[1];
    expect(data[0].customdata).toEqual(['a', 'b', 'c']);
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
    await settle();
    expect(plotly.purge).toHaveBeenCalledTimes(1);

    model.apply({ type: 'cell', cell: cellPayload() });
    await settle();
    chart.dispose();
    chart.dispose();
    expect(plotly.purge).toHaveBeenCalledTimes(2);
  });
});
