// UI tests on the lab (make test-cluster): JupyterLab runs in the notebook pod, reached through
// `kubectl port-forward` on 127.0.0.1:GALATA_PORT (cluster/test/run.sh starts it), under its NB_PREFIX.
const base = require('./playwright.config.js');

const port = process.env.GALATA_PORT || '8891';
const ns = process.env.NB_NS || 'team-a';

module.exports = {
  ...base,
  testDir: './cluster-tests',
  reporter: [['list'], ['json', { outputFile: 'test-results/cluster-results.json' }]],
  outputDir: 'test-results/cluster',
  // Real cluster runs: pods start, snapshots are taken, Argo notices finished pods.
  timeout: 600 * 1000,
  expect: { timeout: 60 * 1000 },
  use: { ...base.use, baseURL: `http://127.0.0.1:${port}/notebook/${ns}/nb` },
  webServer: undefined
};
