// Core and server tests run in plain Node: the core has no DOM, and the server is Node.
// The step graph's layout is pure too, and its view is checked by rendering to static markup: Node as well.
// Frontend model tests (src/**/__tests__ outside src/core and src/graph) join as a jsdom project when they exist.
const tsJest = ['ts-jest', { tsconfig: 'tsconfig.test.json' }];
const ignored = ['<rootDir>/cellpipe/labextension', '<rootDir>/.venv', '<rootDir>/ui-tests'];

module.exports = {
  projects: [
    {
      displayName: 'core',
      testEnvironment: 'node',
      testMatch: ['<rootDir>/src/core/**/__tests__/**/*.spec.ts'],
      transform: { '^.+\\.tsx?$': tsJest },
      modulePathIgnorePatterns: ignored
    },
    {
      // Frontend models and views that need no DOM: run state, badge state, graph layout and its SVG.
      displayName: 'frontend',
      testEnvironment: 'node',
      testMatch: ['<rootDir>/src/{run,badges,graph}/**/__tests__/**/*.spec.ts?(x)'],
      transform: { '^.+\\.tsx?$': tsJest },
      modulePathIgnorePatterns: ignored
    },
    {
      displayName: 'server',
      testEnvironment: 'node',
      testMatch: ['<rootDir>/server-proxy/test/**/*.spec.ts'],
      transform: { '^.+\\.tsx?$': tsJest },
      modulePathIgnorePatterns: ignored
    }
  ]
};
