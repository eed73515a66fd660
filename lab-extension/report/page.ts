/**
 * The exported report's page template, assembled once at build time (report/build-assets.js)
 * from the stylesheet, a partial plotly.js bundle (scatter traces) and the bundled viewer. Pure: the hash function is given.
 */
import { REPORT_DATA_ID, REPORT_DATA_MARKER } from './html';

/**
 * The inlined parts of the page.
 */
export interface IPageParts {
  /**
   * The heapscope version (package.json), in `<meta name="generator">`.
   */
  readonly version: string;
  /**
   * plotly.js: a partial bundle with the traces the viewer draws.
   */
  readonly plotly: string;
  /**
   * The bundled viewer script.
   */
  readonly viewer: string;
  /**
   * The report stylesheet.
   */
  readonly css: string;
}

/**
 * Computes the base64 SHA-256 digest of a UTF-8 string.
 */
export type Sha256Base64 = (text: string) => string;

/**
 * The Content-Security-Policy of the page: scripts and styles only by hash, nothing from the
 * network, no forms, no base URL, no plugins or frames.
 *
 * @param parts - the inlined parts.
 * @param sha256 - the digest function.
 */
export function reportCsp(parts: IPageParts, sha256: Sha256Base64): string {
  const hash = (text: string) => `'sha256-${sha256(text)}'`;
  return [
    "default-src 'none'",
    `script-src ${hash(parts.plotly)} ${hash(parts.viewer)}`,
    // plotly.js adds its rules through an empty <style> element and CSSOM insertRule: the empty
    // string's hash allows that element and no other content.
    `style-src ${hash(parts.css)} ${hash('')}`,
    'img-src data:',
    "font-src 'none'",
    "connect-src 'none'",
    "media-src 'none'",
    "object-src 'none'",
    "frame-src 'none'",
    "worker-src 'none'",
    "manifest-src 'none'",
    "form-action 'none'",
    "base-uri 'none'"
  ].join('; ');
}

/**
 * Assemble the page template.
 *
 * @param parts - the inlined parts.
 * @param sha256 - the digest function (Node's crypto at build time).
 * @returns the template, holding {@link REPORT_DATA_MARKER} exactly once, before any script.
 * @throws when a part cannot be inlined safely (it would close its element early).
 */
export function buildReportTemplate(parts: IPageParts, sha256: Sha256Base64): string {
  Private.checkInline('plotly.min.js', parts.plotly, '</script');
  Private.checkInline('the viewer', parts.viewer, '</script');
  Private.checkInline('the stylesheet', parts.css, '</style');
  // plotly's bundled maplibre (map traces, unused) injects a stylesheet at load unless an element
  // with that stylesheet's id exists: an empty <template> with the id keeps it out.
  const styleIds: string[] = [];
  const pattern = /getElementById\("([0-9a-f]{64})"\)\)\{var \w+=document\.createElement\("style"\)/g;
  for (let match = pattern.exec(parts.plotly); match; match = pattern.exec(parts.plotly)) {
    styleIds.push(match[1]);
  }
  const page = [
    '<!DOCTYPE html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    `<meta http-equiv="Content-Security-Policy" content="${reportCsp(parts, sha256)}">`,
    '<meta name="referrer" content="no-referrer">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<meta name="generator" content="heapscope ${Private.attribute(parts.version)}">`,
    '<title>Notebook memory report</title>',
    `<script type="application/json" id="${REPORT_DATA_ID}">${REPORT_DATA_MARKER}</script>`,
    ...styleIds.map(id => `<template id="${id}"></template>`),
    `<style>${parts.css}</style>`,
    '</head>',
    '<body>',
    '<main id="heapscope-report"><p>This report needs JavaScript to show its charts and tables.</p></main>',
    `<script>${parts.plotly}</script>`,
    `<script>${parts.viewer}</script>`,
    '</body>',
    '</html>',
    ''
  ].join('\n');
  if (page.split(REPORT_DATA_MARKER).length !== 2) {
    throw new Error('the page must hold the data placeholder exactly once');
  }
  return page;
}

/**
 * A module-private namespace.
 */
namespace Private {
  /**
   * A version as a safe attribute value: letters, digits and `.+-_` only.
   */
  export function attribute(version: string): string {
    if (!/^[0-9A-Za-z.+_-]{1,64}$/.test(version)) {
      throw new Error(`not a version: ${JSON.stringify(version)}`);
    }
    return version;
  }

  /**
   * Refuse text that would end its element early, open a script, or hold the data placeholder.
   */
  export function checkInline(name: string, text: string, closing: string): void {
    const lower = text.toLowerCase();
    for (const bad of [closing, '<script', '<!--<script']) {
      if (lower.includes(bad)) {
        throw new Error(`${name} contains "${bad}": it cannot be inlined`);
      }
    }
    if (text.includes(REPORT_DATA_MARKER)) {
      throw new Error(`${name} contains the data placeholder`);
    }
  }
}
