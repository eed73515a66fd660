/**
 * Galata configuration: a real JupyterLab from the project's .venv, driven in Debian's Chromium
 * (/usr/bin/chromium). Playwright never downloads a browser or ffmpeg here (video is off).
 */
const baseConfig = require('@jupyterlab/galata/lib/playwright-config');

module.exports = {
  ...baseConfig,
  reporter: [['list']],
  // remote*.spec.ts need JupyterLab behind a gateway: playwright.remote.config.js runs them.
  testIgnore: ['**/remote*.spec.ts'],
  timeout: 120000,
  expect: { timeout: 30000 },
  workers: 1,
  retries: 0,
  use: {
    ...baseConfig.use,
    baseURL: 'http://127.0.0.1:8891',
    video: 'off',
    trace: 'off',
    launchOptions: {
      executablePath: process.env.HEAPSCOPE_CHROMIUM || '/usr/bin/chromium',
      args: ['--disable-gpu', '--disable-lcd-text']
    }
  },
  webServer: {
    command: 'mkdir -p logs && jupyter lab --config jupyter_server_test_config.py > logs/jupyter-server.log 2>&1',
    url: 'http://127.0.0.1:8891/lab',
    timeout: 120000,
    reuseExistingServer: false,
    stdout: 'ignore',
    stderr: 'pipe'
  }
};
