/**
 * The exported report's stylesheet: the Heap panel's style files for what both show (site lists,
 * holders, the guard's detail), then the report's own rules (report.css), which also define the
 * JupyterLab theme variables those files use in the report's light and dark colours. One source for
 * both: a rule changed in style/ changes the report at the next build (build-assets.js).
 */

/**
 * The files of `style/` the report inlines, in order.
 */
export const SHARED_STYLE_FILES = ['sites.css', 'holders-table.css', 'guard-detail.css'] as const;

/**
 * Assemble the report's stylesheet.
 *
 * @param readStyle - the text of a file of `style/` by name.
 * @param reportCss - the text of report.css.
 */
export function reportStylesheet(readStyle: (file: string) => string, reportCss: string): string {
  return minify([...SHARED_STYLE_FILES.map(readStyle), reportCss].join('\n'));
}

/**
 * Comments out, whitespace runs made one space and dropped around `{`, `}`, `;` and `,` and after
 * `:`, a block's last `;` dropped: the page must stay under its size budget (size.spec.ts). The style files keep no string with
 * two spaces in a row, a space next to those characters or after a colon, which this would change
 * (a selector's `:` is never followed by a space).
 */
export function minify(css: string): string {
  return css
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .replace(/\s+/g, ' ')
    .replace(/ ?([{};,]) ?/g, '$1')
    .replace(/: /g, ':')
    .replace(/;}/g, '}')
    .trim();
}
