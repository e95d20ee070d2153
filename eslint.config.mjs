// Lint rules that the type checker does not cover: the import boundaries of ARCHITECTURE.md (the core
// imports nothing from the shells and no DOM or Node; the frontend no Node; the server no frontend) and
// React's rules of hooks.
import js from '@eslint/js';
import importX from 'eslint-plugin-import-x';
import reactHooks from 'eslint-plugin-react-hooks';
import tseslint from 'typescript-eslint';

const TESTS = ['**/__tests__/**', 'server-proxy/test/**'];

// Globals that only a browser or only Node has: the core is pure and must use neither.
const DOM_AND_NODE_GLOBALS = [
  'window',
  'document',
  'navigator',
  'location',
  'localStorage',
  'sessionStorage',
  'fetch',
  'XMLHttpRequest',
  'EventSource',
  'process',
  'require',
  'Buffer',
  '__dirname',
  '__filename'
].map(name => ({ name, message: 'src/core is pure TypeScript: pass what it needs in from the shell.' }));

export default tseslint.config(
  {
    ignores: [
      'lib/**',
      'cellpipe/**',
      'node_modules/**',
      'ui-tests/node_modules/**',
      'ui-tests/test-results/**',
      'ui-tests/playwright-report/**',
      'build/**',
      '.venv/**',
      '**/*.js',
      '**/*.mjs'
    ]
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    plugins: { 'import-x': importX },
    // The boundary rules need imports resolved to files; TypeScript sources have no .js extension.
    settings: { 'import-x/resolver': { node: { extensions: ['.ts', '.tsx', '.js', '.d.ts'] } } },
    rules: {
      // `any` needs a comment saying why, next to an eslint-disable line.
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }]
    }
  },
  {
    files: ['src/**/*.{ts,tsx}'],
    ignores: TESTS,
    rules: {
      'import-x/no-nodejs-modules': 'error',
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['@kubernetes/*', 'commander', '@aws-sdk/*'],
              message: 'Node-only libraries stay in server-proxy/.'
            }
          ]
        }
      ]
    }
  },
  {
    files: ['src/core/**/*.ts'],
    ignores: TESTS,
    rules: {
      'no-restricted-globals': ['error', ...DOM_AND_NODE_GLOBALS],
      'import-x/no-restricted-paths': [
        'error',
        {
          zones: [
            {
              target: './src/core',
              from: './src',
              except: ['./core'],
              message: 'src/core imports nothing from the frontend.'
            },
            {
              target: './src/core',
              from: './server-proxy',
              message: 'src/core imports nothing from the server.'
            }
          ]
        }
      ]
    }
  },
  {
    files: ['src/**/*.{ts,tsx}'],
    ignores: ['src/core/**', ...TESTS],
    rules: {
      'import-x/no-restricted-paths': [
        'error',
        {
          zones: [
            { target: './src', from: './server-proxy', message: 'The frontend never imports Node code.' }
          ]
        }
      ]
    }
  },
  {
    files: ['server-proxy/**/*.ts'],
    rules: {
      'import-x/no-restricted-paths': [
        'error',
        {
          zones: [
            {
              target: './server-proxy',
              from: './src',
              except: ['./core'],
              message: 'The server and CLI use the core, never the frontend.'
            }
          ]
        }
      ]
    }
  },
  {
    files: ['src/**/*.tsx', 'src/**/*.ts'],
    plugins: { 'react-hooks': reactHooks },
    rules: {
      'react-hooks/rules-of-hooks': 'error',
      'react-hooks/exhaustive-deps': 'error'
    }
  }
);
