// Core and server tests run in plain Node: the core has no DOM, and the server is Node.
// The step graph's layout is pure too, and its view is checked by rendering to static markup: Node as well.
// Frontend model tests (src/**/__tests__ outside src/core and src/graph) join as a jsdom project when they exist.
const tsJest = ['ts-jest', { tsconfig: 'tsconfig.test.json' }];
const ignored = ['<rootDir>/cellpipe/labextension', '<rootDir>/.venv', '<rootDir>/ui-tests', '<rootDir>/build'];
// Only the sources are crawled: build/cluster (the lab, make cluster) holds gigabytes of Go modules.
const roots = ['<rootDir>/src', '<rootDir>/server-proxy', '<rootDir>/schema', '<rootDir>/examples'];

// JupyterLab and the dependencies that ship only as ES modules (as in @jupyterlab/testing's jest config).
const JUPYTER_ES_MODULES = [
  '@codemirror',
  '@marijn',
  '@microsoft',
  '@jupyterlab/',
  '@jupyter/react-components',
  '@jupyter/web-components',
  '@jupyter/ydoc',
  'color',
  'exenv-es6',
  'lib0',
  'marked',
  'nanoid',
  'vscode-ws-jsonrpc',
  'y-protocols',
  'y-websocket',
  'yjs'
].join('|');

// @kubernetes/client-node 1.x and the dependencies it imports ship only as ES modules; the server tests
// run them through babel-jest (the bundle and Node 20's require(esm) need no such step).
const KUBERNETES_ES_MODULES = ['@kubernetes/client-node', 'openid-client', 'oauth4webapi', 'jose', 'jsonpath-plus', 'rfc4648'].join('|');

module.exports = {
  // Generous for a machine shared with other work: loading the wasm parser or starting a Python can take
  // seconds there. Tests wait on the state they need, so a longer bound slows no passing test.
  testTimeout: 30000,
  projects: [
    {
      displayName: 'core',
      testEnvironment: 'node',
      testMatch: ['<rootDir>/src/core/**/__tests__/**/*.spec.ts'],
      transform: { '^.+\\.tsx?$': tsJest },
      modulePathIgnorePatterns: ignored,
      roots
    },
    {
      // Frontend models and views that need no DOM: run state, badge state, graph layout and its SVG.
      displayName: 'frontend',
      testEnvironment: 'node',
      testMatch: ['<rootDir>/src/{run,badges,graph}/**/__tests__/**/*.spec.ts?(x)'],
      transform: { '^.+\\.tsx?$': tsJest },
      modulePathIgnorePatterns: ignored,
      roots
    },
    {
      // Frontend models on JupyterLab's real notebook model, in JupyterLab's jsdom test environment.
      displayName: 'frontend-dom',
      testEnvironment: '@jupyterlab/testing/lib/jest-env.js',
      setupFiles: ['@jupyterlab/testing/lib/jest-shim.js'],
      resolver: '@jupyterlab/testing/lib/jest-resolver.js',
      testMatch: ['<rootDir>/src/{pipeline,sidebar}/**/__tests__/**/*.spec.ts?(x)'],
      moduleNameMapper: {
        '\\.(css|less|sass|scss)$': 'identity-obj-proxy',
        '\\.svg$': '@jupyterlab/testing/lib/jest-file-mock.js'
      },
      transform: { '^.+\\.tsx?$': tsJest, '^.+\\.m?jsx?$': 'babel-jest' },
      transformIgnorePatterns: [`/node_modules/(?!${JUPYTER_ES_MODULES}).+`],
      modulePathIgnorePatterns: ignored,
      roots
    },
    {
      displayName: 'server',
      testEnvironment: 'node',
      testMatch: ['<rootDir>/server-proxy/test/**/*.spec.ts'],
      transform: { '^.+\\.tsx?$': tsJest, '^.+\\.m?jsx?$': 'babel-jest' },
      transformIgnorePatterns: [`/node_modules/(?!${KUBERNETES_ES_MODULES}).+`],
      modulePathIgnorePatterns: ignored,
      roots
    }
  ]
};
