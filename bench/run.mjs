// Bundles each benchmark under bench/ with esbuild and runs it; they print their own figures.
import { build } from 'esbuild';
import { execFileSync } from 'child_process';
import { readdirSync } from 'fs';
import { dirname, join } from 'path';
import { fileURLToPath } from 'url';

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, '..', 'build', 'bench');
for (const file of readdirSync(here).filter(f => f.endsWith('.ts'))) {
  const outfile = join(out, file.replace(/\.ts$/, '.js'));
  await build({
    entryPoints: [join(here, file)],
    outfile,
    bundle: true,
    platform: 'node',
    target: 'node20',
    logLevel: 'warning',
    logOverride: { 'require-resolve-not-external': 'silent' },
    banner: { js: "const __import_meta_url = require('url').pathToFileURL(__filename).href;" },
    define: { 'import.meta.url': '__import_meta_url' }
  });
  execFileSync(process.execPath, [outfile], { stdio: 'inherit' });
}
