/**
 * The guard's part of a run's detail (the panel's Cell view and the exported report): heap Δ beside
 * RSS Δ with the gap explained, a guard stop, a post-mortem with the top lines at the last sample.
 * Every kernel string goes in as text.
 */
import type { ICellRun } from '../comm/protocol';
import { formatBytes } from '../format/bytes';
import { createSiteList, ISiteListOptions } from '../sites/dom';
import { element } from '../sites/elements';
import {
  causeText,
  clockText,
  GAP_EXPLANATION,
  gapText,
  guardHowText,
  guardStopText,
  limitText,
  postMortemSummary,
  runDeltas
} from './text';

/**
 * The CSS class of the guard's block in a run's detail.
 */
export const GUARD_DETAIL_CLASS = 'jp-heapscope-GuardDetail';

/**
 * The guard's block of a run's detail: heap Δ and RSS Δ with the gap explained, then the guard stop
 * or the post-mortem (its top lines drawn with the site list kit).
 *
 * @param run - the run.
 * @param sites - how the post-mortem's lines are drawn (navigation, lookup, filter); without it
 *   no list is drawn.
 * @returns the block, or null when the run has nothing for it (no RSS, not stopped, not killed).
 */
export function createGuardDetail(run: ICellRun, sites?: Omit<ISiteListOptions, 'base'>): HTMLElement | null {
  const deltas = runDeltas(run);
  if (deltas.rss === null && run.status !== 'guard' && run.status !== 'killed') {
    return null;
  }
  const node = element('div', GUARD_DETAIL_CLASS);
  if (run.status === 'guard') {
    const stop = element('div', 'jp-heapscope-GuardDetail-stop');
    stop.append(
      element('p', 'jp-heapscope-GuardDetail-headline', guardStopText(run.guard_stop)),
      ...(run.guard_stop ? [element('p', 'jp-heapscope-GuardDetail-note', guardHowText(run.guard_stop))] : [])
    );
    node.appendChild(stop);
  }
  if (run.status === 'killed') {
    node.appendChild(createPostMortem(run, sites));
  }
  if (deltas.rss !== null) {
    const figures = element('p', 'jp-heapscope-GuardDetail-deltas');
    const fact = (text: string) => element('span', 'jp-heapscope-Detail-fact', text);
    figures.append(fact(`heap Δ ${deltas.heap}`), ' · ', fact(`RSS Δ ${deltas.rss}`));
    if (deltas.rssPeak !== null) {
      figures.append(' · ', fact(`RSS peak ${deltas.rssPeak}`));
    }
    node.appendChild(figures);
    const gap = element('details', 'jp-heapscope-GuardDetail-gap');
    const summary = element('summary', '', gapText(run) ?? 'Why RSS differs from the heap');
    gap.append(summary, element('p', 'jp-heapscope-GuardDetail-note', GAP_EXPLANATION));
    node.appendChild(gap);
  }
  return node;
}

/**
 * The post-mortem of a killed run: the summary, the figures at the last sample and the top lines
 * then.
 *
 * @param run - a run with status `killed`.
 * @param sites - how the lines are drawn; without it no list.
 */
export function createPostMortem(run: ICellRun, sites?: Omit<ISiteListOptions, 'base'>): HTMLElement {
  const post = run.post_mortem;
  const node = element('div', 'jp-heapscope-PostMortem');
  if (!post) {
    node.appendChild(element('p', 'jp-heapscope-GuardDetail-headline', postMortemSummary(run)));
    return node;
  }
  // The summary sentence is in the panel's post-mortem box and the report's header: here, the facts.
  node.appendChild(element('p', 'jp-heapscope-GuardDetail-headline', 'The kernel died while running this cell'));
  const facts = element('dl', 'jp-heapscope-PostMortem-facts');
  const add = (term: string, value: string) => facts.append(element('dt', '', term), element('dd', '', value));
  add('likely cause', causeText(post.cause));
  add('heap', formatBytes(post.heap_bytes));
  add('RSS', formatBytes(post.rss_bytes));
  if (post.usage_bytes !== undefined && post.limit) {
    add('usage', `${formatBytes(post.usage_bytes)} of ${limitText(post.limit)}`);
  } else if (post.limit) {
    add('limit', limitText(post.limit));
  }
  add('last sample', clockText(post.at));
  if (post.pid !== undefined) {
    add('process', String(post.pid));
  }
  node.appendChild(facts);
  if (sites) {
    node.appendChild(element('h4', 'jp-heapscope-Detail-heading', 'Top lines at the last sample'));
    const base = Math.max(1, post.heap_bytes - run.start_bytes, ...post.top_at_peak.map(site => site.bytes));
    node.appendChild(
      createSiteList(post.top_at_peak, {
        ...sites,
        base,
        emptyText: sites.emptyText ?? 'The last sample had no lines (no attribution, or the cell had just started).'
      })
    );
  }
  return node;
}
