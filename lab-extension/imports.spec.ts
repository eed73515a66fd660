/**
 * The folder layout: features import the shared kits (sites/, format/, comm/, model/, …), never
 * each other's insides backwards. report/ is a feature: only the plugin list (index.ts) wires
 * it in.
 */
import * as fs from 'fs';
import * as path from 'path';

/** Every TypeScript file under a folder, relative to it. */
function sources(root: string, dir = root): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap(entry => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      return sources(root, full);
    }
    return entry.name.endsWith('.ts') ? [path.relative(root, full)] : [];
  });
}

/** The module specifiers a file imports (static imports, re-exports and import()). */
function importsOf(file: string): string[] {
  const text = fs.readFileSync(file, 'utf8');
  const found: string[] = [];
  const pattern = /(?:\bfrom\s*|\bimport\s*\(?\s*)['"]([^'"]+)['"]/g;
  for (let match = pattern.exec(text); match; match = pattern.exec(text)) {
    found.push(match[1]);
  }
  return found;
}

describe('import layout', () => {
  const root = __dirname;
  const files = sources(root);

  it('finds the sources and their imports', () => {
    expect(files).toContain(path.join('sites', 'dom.ts'));
    expect(importsOf(path.join(root, 'index.ts'))).toContain('./report/plugin');
  });

  it('lets no folder but report/ itself import from report/ (index.ts wires its plugin)', () => {
    const offenders: string[] = [];
    for (const file of files) {
      if (file.split(path.sep)[0] === 'report') {
        continue;
      }
      for (const spec of importsOf(path.join(root, file))) {
        if (!spec.startsWith('.')) {
          continue;
        }
        const target = path.relative(root, path.resolve(path.dirname(path.join(root, file)), spec));
        if (
          target.split(path.sep)[0] === 'report' &&
          !(file === 'index.ts' && target === path.join('report', 'plugin'))
        ) {
          offenders.push(`${file} imports ${spec}`);
        }
      }
    }
    expect(offenders).toEqual([]);
  });

  it('keeps the site-list kit free of feature folders', () => {
    const features = ['panel', 'chart', 'navigate', 'report', 'badges', 'tracker'];
    const offenders = files
      .filter(file => file.split(path.sep)[0] === 'sites')
      .flatMap(file =>
        importsOf(path.join(root, file))
          .filter(spec => spec.startsWith('.'))
          .map(spec => path.relative(root, path.resolve(path.dirname(path.join(root, file)), spec)))
          .filter(target => features.includes(target.split(path.sep)[0]))
          .map(target => `${file} imports ${target}`)
      );
    expect(offenders).toEqual([]);
  });
});
