// Bundles the server and the CLI (with the core they import) into cellpipe/js/,
// next to the two wasm files that the analysis loads at run time.
import { build } from 'esbuild';
import { nodeBundleOptions } from './esbuild-options.mjs';
import { copyFileSync, mkdirSync, readFileSync } from 'fs';
import { createRequire } from 'module';
import { dirname, join } from 'path';
import { fileURLToPath } from 'url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'cellpipe', 'js');
const require = createRequire(join(root, 'package.json'));
const version = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version;
const production = process.argv.includes('--production');

mkdirSync(out, { recursive: true });
await build({
  entryPoints: {
    server: join(root, 'server-proxy/src/server/main.ts'),
    cli: join(root, 'server-proxy/src/cli/main.ts')
  },
  outdir: out,
  ...nodeBundleOptions,
  sourcemap: !production,
  minify: production,
  define: { ...nodeBundleOptions.define, CELLPIPE_VERSION: JSON.stringify(version) }
});
copyFileSync(
  join(dirname(require.resolve('web-tree-sitter')), 'web-tree-sitter.wasm'),
  join(out, 'web-tree-sitter.wasm')
);
copyFileSync(
  join(dirname(require.resolve('tree-sitter-python/package.json')), 'tree-sitter-python.wasm'),
  join(out, 'tree-sitter-python.wasm')
);
