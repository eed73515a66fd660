/**
 * The guard's chart colours, read from JupyterLab's theme variables (plotly takes concrete values).
 */
import { FALLBACK_GUARD_COLOURS, IGuardColours } from './chartTraces';

/**
 * Resolve the guard's colours from the theme.
 *
 * @param element - a node that inherits JupyterLab's theme variables.
 * @returns concrete colours; the fallback for a variable that is unset.
 */
export function resolveGuardColours(element: Element = document.body): IGuardColours {
  if (typeof window === 'undefined' || typeof window.getComputedStyle !== 'function') {
    return FALLBACK_GUARD_COLOURS;
  }
  const style = window.getComputedStyle(element);
  const read = (name: string, fallback: string) => {
    const value = style.getPropertyValue(`--jp-${name}`).trim();
    return value && !value.includes('var(') ? value : fallback;
  };
  return {
    rss: read('ui-font-color2', FALLBACK_GUARD_COLOURS.rss),
    limit: read('error-color1', FALLBACK_GUARD_COLOURS.limit),
    soft: read('warn-color1', FALLBACK_GUARD_COLOURS.soft),
    foreground: read('ui-font-color1', FALLBACK_GUARD_COLOURS.foreground),
    background: read('layout-color1', FALLBACK_GUARD_COLOURS.background)
  };
}
