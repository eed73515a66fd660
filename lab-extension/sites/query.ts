/**
 * The filter bar of a view and the state it sets for all the view's lists (sites/dom.ts re-exports
 * both).
 */
import { element } from './elements';

/**
 * What the filter bar of a view sets for all its lists: the filter text and "my code only".
 * Lists follow it; a view disconnects its old lists ({@link SiteQuery.disconnectAll}) before it
 * draws new ones.
 */
export class SiteQuery {
  /**
   * The filter box's text.
   */
  get text(): string {
    return this._text;
  }
  set text(text: string) {
    if (text !== this._text) {
      this._text = text;
      this._emit();
    }
  }

  /**
   * Whether only the user's code is listed.
   */
  get myCode(): boolean {
    return this._myCode;
  }
  set myCode(myCode: boolean) {
    if (myCode !== this._myCode) {
      this._myCode = myCode;
      this._emit();
    }
  }

  /**
   * Call `listener` after every change.
   *
   * @returns a function that disconnects it.
   */
  connect(listener: () => void): () => void {
    this._listeners.add(listener);
    return () => this._listeners.delete(listener);
  }

  /**
   * Disconnect every listener (the lists of a view about to be drawn again).
   */
  disconnectAll(): void {
    this._listeners.clear();
  }

  private _emit(): void {
    for (const listener of [...this._listeners]) {
      listener();
    }
  }

  private _text = '';
  private _myCode = false;
  private _listeners = new Set<() => void>();
}

/**
 * The filter bar of a view: a search box (file, function, text) and a "My code only" check box.
 *
 * @param query - the state it sets.
 * @param options - `myCodeTitle` explains what the user's code is (the check box is left out
 *   without it).
 */
export function createSiteQueryBar(query: SiteQuery, options: { myCodeTitle?: string } = {}): HTMLElement {
  const bar = element('div', 'jp-heapscope-SiteQuery');
  bar.setAttribute('role', 'search');
  const input = element('input', 'jp-heapscope-SiteQuery-text');
  input.type = 'search';
  input.placeholder = 'Filter: file, function, text';
  input.setAttribute('aria-label', 'Filter the sites by file, function or text');
  input.value = query.text;
  input.addEventListener('input', () => {
    query.text = input.value;
  });
  bar.appendChild(input);
  if (options.myCodeTitle !== undefined) {
    const label = element('label', 'jp-heapscope-SiteQuery-mine');
    const box = element('input', '');
    box.type = 'checkbox';
    box.checked = query.myCode;
    box.addEventListener('change', () => {
      query.myCode = box.checked;
    });
    label.title = options.myCodeTitle;
    label.append(box, ' My code only');
    bar.appendChild(label);
  }
  return bar;
}
