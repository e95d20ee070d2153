// The browser benchmark (bench/browser.spec.ts) with the UI tests' setup: `make bench` runs it.
const config = require('./playwright.config');

module.exports = {
  ...config,
  testDir: '../bench',
  testMatch: 'browser.spec.ts',
  reporter: [['list']],
  timeout: 300 * 1000
};
