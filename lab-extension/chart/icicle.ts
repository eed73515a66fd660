/**
 * Pure building of a cell's peak as an icicle chart: sites' stacks → plotly `icicle` data.
 */
import type { Data, Layout } from 'plotly.js-dist-min';

import type { IFrame, ISite } from '../comm/protocol';
import { formatBytes } from '../format/bytes';
import { displayText, shortenPath } from '../format/text';
import { fileLine, frameLocation } from '../sites/sites';
import type { IChartTheme } from './theme';
import { escapePlotlyText, themedLayout } from './traces';

/**
 * An icicle figure.
 */
export interface IIcicleFigure {
  /**
   * One icicle trace.
   */
  readonly data: Data[];
  /**
   * The layout.
   */
  readonly layout: Partial<Layout>;
}

/**
 * Build the icicle of a cell's peak: the root is the cell, below it the outermost frames of the
 * allocating stacks, down to the innermost; a node's size is the bytes allocated through it.
 *
 * @param sites - the sites at the cell's peak.
 * @param rootLabel - the root's label (plain text, escaped here).
 * @param theme - concrete colours.
 * @returns the figure; its trace has no node but the root when there are no sites.
 */
export function buildIcicleFigure(sites: ReadonlyArray<ISite>, rootLabel: string, theme: IChartTheme): IIcicleFigure {
  const ids: string[] = ['root'];
  const labels: string[] = [escapePlotlyText(displayText(rootLabel, 80))];
  const parents: string[] = [''];
  const values: number[] = [0];
  const hover: string[] = [''];
  const index = new Map<string, number>();
  for (const site of sites) {
    if (!(site.bytes > 0)) {
      continue;
    }
    // Outermost first; a site without stack is its own innermost frame.
    const frames: IFrame[] = site.stack.length > 0 ? [...site.stack].reverse() : [site];
    values[0] += site.bytes;
    let parent = 'root';
    frames.forEach((frame, depth) => {
      if (depth >= Private.MAX_DEPTH) {
        return;
      }
      // Nodes are keyed by their path; plotly only sees opaque ids.
      const key = `${parent}\u0000${fileLine(frame)}\u0000${frame.function}`;
      let at = index.get(key);
      if (at === undefined) {
        at = ids.length;
        index.set(key, at);
        ids.push(`n${at}`);
        parents.push(parent);
        labels.push(escapePlotlyText(Private.label(frame)));
        hover.push(escapePlotlyText(Private.hover(frame)));
        values.push(0);
      }
      values[at] += site.bytes;
      parent = ids[at];
    });
  }
  hover[0] = '';
  const text = values.map(v => formatBytes(v));
  return {
    data: [
      {
        type: 'icicle',
        ids,
        labels,
        parents,
        values,
        text,
        hovertext: hover,
        branchvalues: 'total',
        textinfo: 'label+text',
        hovertemplate: '%{label}<br>%{text} · %{percentRoot:.1%}<br>%{hovertext}<extra></extra>',
        tiling: { orientation: 'v' },
        pathbar: { visible: false },
        root: { color: theme.grid },
        marker: {
          colors: ids.map((_, i) => (i === 0 ? theme.grid : theme.heap)),
          line: { color: theme.background, width: 1 }
        },
        outsidetextfont: { color: theme.foreground },
        insidetextfont: { color: ids.map((_, i) => (i === 0 ? theme.foreground : theme.onHeap)) },
        // Full opacity: plotly's default fades leaves, which takes the text's contrast with it.
        leaf: { opacity: 1 },
        maxdepth: 6,
        sort: true
      } as Data
    ],
    layout: {
      autosize: true,
      margin: { l: 0, r: 0, t: 0, b: 0 },
      ...themedLayout(theme)
    }
  };
}

/**
 * A module-private namespace.
 */
namespace Private {
  /**
   * Deeper frames are left out of the tree.
   */
  export const MAX_DEPTH = 32;

  /**
   * A node's label: the function and where it is.
   */
  export function label(frame: IFrame): string {
    return `${displayText(frame.function, 40)} · ${frameLocation(frame, 32)}`;
  }

  /**
   * A node's hover line: the full location.
   */
  export function hover(frame: IFrame): string {
    return displayText(shortenPath(fileLine(frame), 96), 120);
  }
}
