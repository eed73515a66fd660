/**
 * Galata behind Jupyter Enterprise Gateway (docs/remote-kernels.md): the same JupyterLab as
 * playwright.config.js, started with --gateway-url, and a real jupyter-enterprise-gateway 3.3.0 from
 * .venv-gateway (scripts/gateway-env.sh) that runs the kernels in a folder of its own.
 *
 *   flock /tmp/heapscope-galata.lock bash -c 'cd ui-tests && npx playwright test -c playwright.remote.config.js'
 */
const base = require('./playwright.config');

const LAB = 8892;
const GATEWAY = 8893;

module.exports = {
  ...base,
  testMatch: 'remote*.spec.ts',
  testIgnore: [],
  use: { ...base.use, baseURL: `http://127.0.0.1:${LAB}` },
  webServer: [
    {
      command: `mkdir -p logs && bash ../scripts/gateway-lab.sh gateway ${GATEWAY} > logs/gateway.log 2>&1`,
      url: `http://127.0.0.1:${GATEWAY}/api`,
      timeout: 120000,
      reuseExistingServer: false,
      stdout: 'ignore',
      stderr: 'pipe'
    },
    {
      command: `mkdir -p logs && bash ../scripts/gateway-lab.sh lab ${LAB} ${GATEWAY} > logs/jupyter-server-remote.log 2>&1`,
      url: `http://127.0.0.1:${LAB}/lab`,
      timeout: 120000,
      reuseExistingServer: false,
      stdout: 'ignore',
      stderr: 'pipe'
    }
  ]
};
