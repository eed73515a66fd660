/**
 * The report's stylesheet: the panel's shared style files and report.css, minified.
 */
import * as fs from 'fs';
import * as path from 'path';

import { minify, reportStylesheet, SHARED_STYLE_FILES } from './stylesheet';

const STYLE = path.resolve(__dirname, '..', '..', 'style');
const read = (file: string) => fs.readFileSync(path.join(STYLE, file), 'utf-8');

describe('reportStylesheet', () => {
  const css = reportStylesheet(read, fs.readFileSync(path.join(__dirname, 'report.css'), 'utf-8'));

  it('carries the panel’s rules for what the report shows too, and the report’s own after them', () => {
    for (const selector of ['.jp-heapscope-Site-bytes{', '.jp-heapscope-Holder-name{', '.jp-heapscope-PostMortem{']) {
      expect(css).toContain(selector);
    }
    expect(css.indexOf('.jp-heapscope-Site-bytes{')).toBeLessThan(css.indexOf('.hs-table{'));
  });

  it('defines every theme variable the shared files use, so the report needs no JupyterLab theme', () => {
    const used = new Set<string>();
    for (const file of SHARED_STYLE_FILES) {
      for (const match of read(file).matchAll(/var\((--jp-[a-z0-9-]+)(,)?/g)) {
        if (!match[2]) {
          used.add(match[1]); // (a var() with a fallback works without it)
        }
      }
    }
    expect(used.size).toBeGreaterThan(10);
    const missing = [...used].filter(name => !css.includes(`${name}:`));
    expect(missing).toEqual([]);
  });

  it('minifies without touching strings or selectors', () => {
    expect(minify("/* note */\n.a :hover ,\n.b::after {\n  content: ' ▲';\n  grid-template-areas: 'x y';\n}\n")).toBe(
      ".a :hover,.b::after{content:' ▲';grid-template-areas:'x y'}"
    );
  });
});
