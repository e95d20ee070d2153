// esbuild options shared by every Node bundle that includes the core (server, CLI, benchmarks).
export const nodeBundleOptions = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  logLevel: 'warning',
  // wasm-node.ts resolves node_modules only when the wasm files are not next to the bundle.
  logOverride: { 'require-resolve-not-external': 'silent' },
  // web-tree-sitter's glue reads import.meta.url, which a CommonJS bundle lacks.
  banner: { js: "const __import_meta_url = require('url').pathToFileURL(__filename).href;" },
  define: { 'import.meta.url': '__import_meta_url' },
  // tr46 (under @kubernetes/client-node) requires Node's deprecated built-in punycode, which prints a
  // deprecation warning on every command; the npm package is the same code without the warning.
  alias: { punycode: 'punycode/' }
};
