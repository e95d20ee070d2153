import { build } from 'esbuild';
import { nodeBundleOptions } from '../server-proxy/esbuild-options.mjs';
await build({ entryPoints: ['bench/snapshot.ts'], outfile: 'build/bench/snapshot.js', ...nodeBundleOptions });
