/**
 * Extra build rules merged into jupyter-builder's configuration (package.json
 * `jupyterlab.webpackConfig`): `import text from 'file?raw'` gives a file's text. The export
 * command imports the report page template this way, in a chunk loaded only when exporting.
 */
module.exports = {
  module: {
    rules: [{ resourceQuery: /raw/, type: 'asset/source' }]
  }
};
