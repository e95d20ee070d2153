/** The Python step runtime, read from the package (next to the bundle) or the source tree. */
import { createHash } from 'crypto';
import { existsSync, readFileSync } from 'fs';
import { join } from 'path';

const CANDIDATES = [
  join(__dirname, '..', 'runtime.py'), // bundled: cellpipe/js/cli.js → cellpipe/runtime.py
  join(__dirname, '..', '..', 'cellpipe', 'runtime.py') // source: server-proxy/src → cellpipe/runtime.py
];

let cached: string | undefined;

export function runtimeSource(): string {
  if (cached === undefined) {
    const path = CANDIDATES.find(p => existsSync(p));
    if (!path) {
      throw new Error(`cellpipe's step runtime (runtime.py) is missing; looked in ${CANDIDATES.join(', ')}`);
    }
    cached = readFileSync(path, 'utf8');
  }
  return cached;
}

/** The sha256 of runtime.py's bytes, as a step that reads it from its image checks it. */
export function runtimeSha256(): string {
  return createHash('sha256').update(runtimeSource(), 'utf8').digest('hex');
}
