// UI tests against the real JupyterLab from ../.venv, in Debian's Chromium
// (no Playwright browser download, no video: both need downloads).
const baseConfig = require('@jupyterlab/galata/lib/playwright-config');

const port = process.env.GALATA_PORT || '8888';
const baseURL = `http://localhost:${port}`;

module.exports = {
  ...baseConfig,
  testDir: './tests',
  // Never serve the HTML report and wait: runs are unattended.
  reporter: [['list'], ['json', { outputFile: 'test-results/results.json' }], ['html', { open: 'never' }]],
  // JupyterLab start-up and the first kernel are slow on 2 cores.
  timeout: 120 * 1000,
  expect: { timeout: 30 * 1000 },
  workers: 1,
  retries: 0,
  use: {
    ...baseConfig.use,
    baseURL,
    video: 'off',
    trace: 'retain-on-failure',
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-dev-shm-usage',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run'
      ]
    }
  },
  projects: [{ name: 'chromium', use: { browserName: 'chromium' } }],
  webServer: {
    command: `${process.env.JUPYTER || '../.venv/bin/jupyter'} lab --config jupyter_server_test_config.py`,
    // The cluster UI test writes this kubeconfig (unreachable, then a loopback fake of the Kubernetes
    // API); the cellpipe server reads it on each submission.
    env: {
      ...process.env,
      KUBECONFIG: require('path').join(__dirname, 'test-results', 'cluster', 'kubeconfig.yaml'),
      CELLPIPE_ARGO_UI_URL: 'https://argo.example.com',
      // As the downward API sets them in a notebook pod: the fake cluster knows this pod and its PVCs.
      CELLPIPE_POD_NAME: 'notebook-0',
      CELLPIPE_POD_NAMESPACE: 'team'
    },
    url: `${baseURL}/lab`,
    // A loaded 2-core machine can take minutes to start JupyterLab.
    timeout: 300 * 1000,
    reuseExistingServer: false
  }
};
