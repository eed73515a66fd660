import { PlotlyModule, warmUpPlotly } from './plotlyLoader';

describe('warmUpPlotly', () => {
  it('draws one throw-away plot off screen, then purges it and leaves nothing in the page', async () => {
    const drawn: HTMLElement[] = [];
    const plotly = {
      newPlot: jest.fn((node: HTMLElement) => {
        drawn.push(node);
        // Drawn while attached, out of sight: plotly measures text in the page.
        expect(document.body.contains(node)).toBe(true);
        expect(node.style.visibility).toBe('hidden');
        return Promise.resolve(node);
      }),
      purge: jest.fn()
    } as unknown as PlotlyModule;
    const before = document.body.childElementCount;
    await warmUpPlotly(plotly);
    expect(plotly.newPlot).toHaveBeenCalledTimes(1);
    expect(plotly.purge).toHaveBeenCalledWith(drawn[0]);
    expect(document.body.contains(drawn[0])).toBe(false);
    expect(document.body.childElementCount).toBe(before);
  });

  it('never throws: a failed warm-up still cleans up', async () => {
    const plotly = {
      newPlot: jest.fn(() => Promise.reject(new Error('no canvas'))),
      purge: jest.fn()
    } as unknown as PlotlyModule;
    const before = document.body.childElementCount;
    await expect(warmUpPlotly(plotly)).resolves.toBeUndefined();
    expect(plotly.purge).toHaveBeenCalledTimes(1);
    expect(document.body.childElementCount).toBe(before);
  });
});
