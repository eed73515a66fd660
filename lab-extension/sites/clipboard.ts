/**
 * Copy text to the clipboard: the asynchronous clipboard API, else a selected hidden text area
 * and `execCommand('copy')` (a page opened from a file, an older browser, a denied permission).
 */

/**
 * Copy text.
 *
 * @param text - the text.
 * @returns whether the text was copied.
 */
export async function copyText(text: string): Promise<boolean> {
  try {
    if (typeof navigator !== 'undefined' && navigator.clipboard?.writeText) {
      await navigator.clipboard.writeText(text);
      return true;
    }
  } catch {
    // Denied or unavailable: try the old way.
  }
  return copyWithTextArea(text);
}

/**
 * The fallback: select the text in an off-screen text area and copy the selection. The focus
 * and the page's selection are given back.
 *
 * @param text - the text.
 * @returns whether the browser says it copied.
 */
export function copyWithTextArea(text: string): boolean {
  if (typeof document === 'undefined' || !document.body) {
    return false;
  }
  const focused = document.activeElement as HTMLElement | null;
  const area = document.createElement('textarea');
  area.value = text;
  area.setAttribute('readonly', '');
  area.setAttribute('aria-hidden', 'true');
  area.style.position = 'fixed';
  area.style.top = '0';
  area.style.left = '-9999px';
  area.style.opacity = '0';
  document.body.appendChild(area);
  area.select();
  let copied: boolean;
  try {
    copied = typeof document.execCommand === 'function' && document.execCommand('copy');
  } catch {
    copied = false;
  }
  area.remove();
  focused?.focus?.();
  return copied;
}
