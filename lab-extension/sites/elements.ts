/**
 * Small DOM helpers of the site lists (sites/siteTable.ts, sites/query.ts, sites/dom.ts): an element
 * with a class and text, a text button, a disclosure toggle that builds what it shows on first opening.
 * Kernel strings go in through `textContent` only.
 */

/**
 * Create an element with a class and, optionally, text.
 */
export function element<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  className: string,
  text?: string
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (className) {
    node.className = className;
  }
  if (text !== undefined) {
    node.textContent = text;
  }
  return node;
}

/**
 * A small text button.
 */
export function button(className: string, text: string, label?: string): HTMLButtonElement {
  const node = element('button', className, text);
  node.type = 'button';
  if (label) {
    node.title = label;
    node.setAttribute('aria-label', label);
  }
  return node;
}

/**
 * A disclosure button that shows and hides what `build` makes, built on first opening.
 */
export function lazyToggle(label: string, after: () => HTMLElement, build: () => HTMLElement): HTMLButtonElement {
  const toggle = button('jp-heapscope-Toggle', '▸', label);
  toggle.setAttribute('aria-expanded', 'false');
  let target: HTMLElement | null = null;
  toggle.addEventListener('click', () => {
    const open = toggle.getAttribute('aria-expanded') !== 'true';
    if (open && target === null) {
      target = build();
      after().after(target);
    }
    if (target) {
      target.hidden = !open;
    }
    toggle.textContent = open ? '▾' : '▸';
    toggle.setAttribute('aria-expanded', String(open));
  });
  return toggle;
}
