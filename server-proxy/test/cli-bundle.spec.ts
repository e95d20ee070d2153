/**
 * The CLI's local commands (`analyze`, `compile`, `run`, `runs --show`, `diff`) must not evaluate the
 * cluster clients when they start: in the single-file bundle a module is evaluated when something imports
 * it statically, and the AWS SDK and the Kubernetes client are most of the bundle (about 0.2 s of CPU for
 * every `cellpipe run`). They are reached through `await import` only. Checked on esbuild's own import
 * graph of the bundle, built with the options the build uses.
 */
import { execFileSync } from 'child_process';
import { join } from 'path';

const ROOT = join(__dirname, '..', '..');

// Prints, as JSON, each input of the CLI bundle reachable from its entry without a dynamic import.
const REACHABLE = `
import { build } from 'esbuild';
import { nodeBundleOptions } from './server-proxy/esbuild-options.mjs';
const entry = 'server-proxy/src/cli/main.ts';
const { metafile } = await build({ ...nodeBundleOptions, entryPoints: [entry], outfile: 'cli.js', write: false,
  metafile: true, logLevel: 'silent' });
const seen = new Map([[entry, null]]);
const queue = [entry];
while (queue.length > 0) {
  const file = queue.shift();
  for (const imp of metafile.inputs[file]?.imports ?? []) {
    if (imp.kind !== 'dynamic-import' && !seen.has(imp.path)) {
      seen.set(imp.path, file);
      queue.push(imp.path);
    }
  }
}
process.stdout.write(JSON.stringify(Object.fromEntries(seen)));
`;

/** The chain of static imports from the CLI's entry to `file`. */
function chain(importedBy: Record<string, string | null>, file: string): string {
  const files = [];
  for (let at: string | null = file; at; at = importedBy[at]) {
    files.unshift(at);
  }
  return files.join(' > ');
}

describe('the CLI bundle', () => {
  it('evaluates no cluster client, cluster engine or JUnit writer for a local command', () => {
    const importedBy = JSON.parse(
      execFileSync(process.execPath, ['--input-type=module', '-e', REACHABLE], {
        cwd: ROOT,
        encoding: 'utf8'
      })
    ) as Record<string, string | null>;
    expect(Object.keys(importedBy)).toContain('server-proxy/src/engines/local/execute.ts');
    const cluster = Object.keys(importedBy).filter(file =>
      /node_modules\/(@aws-sdk|@smithy|@kubernetes\/client-node|xmlbuilder2)\/|engines\/cluster\/(?!cluster-errors)/.test(
        file
      )
    );
    expect(cluster.map(file => chain(importedBy, file))).toEqual([]);
  });
});
