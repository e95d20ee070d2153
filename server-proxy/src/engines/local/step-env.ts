/**
 * What a local step sees of the environment: never the whole environment of the server or the CLI (which
 * may hold tokens and credentials), but
 * - the basics a program needs: PATH, HOME, USER, LOGNAME, SHELL, LANG, LANGUAGE, LC_*, TZ, TMPDIR, TERM;
 * - the Python and environment variables that decide which libraries it finds: VIRTUAL_ENV, CONDA_PREFIX,
 *   CONDA_DEFAULT_ENV, PYTHONPATH, PYTHONHOME, PYTHONUSERBASE, PYTHONNOUSERSITE, LD_LIBRARY_PATH, and
 *   the GPU choice CUDA_VISIBLE_DEVICES;
 * - names listed in CELLPIPE_STEP_ENV (comma-separated), to pass more on purpose;
 * - the step's own `env` settings, as on a cluster;
 * - its `secrets` (SECRET key KEY as the variable ENV, as a Kubernetes secretKeyRef), resolved locally:
 *   from the file CELLPIPE_SECRETS_DIR/SECRET/KEY (default ~/.cellpipe/secrets/SECRET/KEY, the layout of a
 *   mounted Kubernetes Secret), else from the variable ENV in cellpipe's own environment. A secret found
 *   in neither fails the step before it starts, as a pod with a missing Secret does not start.
 * - PYTHONUNBUFFERED=1 (the log is live). No MPLBACKEND: the runtime picks matplotlib's backend as a Jupyter
 *   kernel does (inline), never a window.
 */
import { readFileSync } from 'fs';
import { homedir } from 'os';
import { join } from 'path';
import type { StepSettings } from '../../../../src/core/tags/settings';

const PASSED = [
  'PATH',
  'HOME',
  'USER',
  'LOGNAME',
  'SHELL',
  'LANG',
  'LANGUAGE',
  'TZ',
  'TMPDIR',
  'TERM',
  'VIRTUAL_ENV',
  'CONDA_PREFIX',
  'CONDA_DEFAULT_ENV',
  'PYTHONPATH',
  'PYTHONHOME',
  'PYTHONUSERBASE',
  'PYTHONNOUSERSITE',
  'LD_LIBRARY_PATH',
  'CUDA_VISIBLE_DEVICES'
];

/** A secret key as a file name: Kubernetes keys are `[-._a-zA-Z0-9]+`; nothing that leaves the folder. */
const KEY = /^[-._a-zA-Z0-9]+$/;

export class StepEnvironmentError extends Error {}

export function stepEnvironment(
  step: string,
  settings: Pick<StepSettings, 'env' | 'secrets'>,
  source: NodeJS.ProcessEnv = process.env
): Record<string, string> {
  const env: Record<string, string> = {};
  const extra = (source.CELLPIPE_STEP_ENV ?? '')
    .split(',')
    .map(name => name.trim())
    .filter(Boolean);
  for (const name of Object.keys(source)) {
    if (PASSED.includes(name) || name.startsWith('LC_') || extra.includes(name)) {
      env[name] = source[name]!;
    }
  }
  env.PYTHONUNBUFFERED = '1';
  Object.assign(env, settings.env ?? {});
  const folder = source.CELLPIPE_SECRETS_DIR || join(source.HOME || homedir(), '.cellpipe', 'secrets');
  for (const ref of settings.secrets ?? []) {
    const file = join(folder, ref.secret, ref.key);
    let value: string | undefined;
    if (KEY.test(ref.secret) && KEY.test(ref.key) && !ref.key.startsWith('..')) {
      try {
        value = readFileSync(file, 'utf8');
      } catch {
        value = undefined;
      }
    }
    value ??= source[ref.env];
    if (value === undefined) {
      throw new StepEnvironmentError(
        `Step ${step} needs the secret ${ref.secret} (key ${ref.key}) as $${ref.env}: put the value in ` +
          `~/.cellpipe/secrets/${ref.secret}/${ref.key} (or under CELLPIPE_SECRETS_DIR), or set ${ref.env} ` +
          "in cellpipe's environment."
      );
    }
    env[ref.env] = value;
  }
  return env;
}
