// Bundles each benchmark under bench/ with esbuild and runs it; they print their own figures.
import { build } from 'esbuild';
import { nodeBundleOptions } from '../server-proxy/esbuild-options.mjs';
import { execFileSync } from 'child_process';
import { readdirSync } from 'fs';
import { dirname, join } from 'path';
import { fileURLToPath } from 'url';

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, '..', 'build', 'bench');
// browser.spec.ts runs in Chromium through Playwright (see the Makefile), not here.
for (const file of readdirSync(here).filter(f => f.endsWith('.ts') && !f.endsWith('.spec.ts'))) {
  const outfile = join(out, file.replace(/\.ts$/, '.js'));
  await build({
    entryPoints: [join(here, file)],
    outfile,
    ...nodeBundleOptions
  });
  execFileSync(process.execPath, [outfile], { stdio: 'inherit' });
}
