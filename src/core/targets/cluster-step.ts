/**
 * How a cluster container runs a step program, shared by the KFP and Argo
 * targets.
 *
 * The container gets no shell and no interpolated code: its command is
 * `python3 -c BOOTSTRAP PROGRAM --cluster BINDING_BASE64 FLAGS...`.
 * - The program (from `stepProgram`, the same text as target `local`) travels
 *   zlib-compressed, then base64-encoded: base64 because Argo and the KFP
 *   backend expand `{{...}}` in every string of a template (a cell containing
 *   `{{workflow.name}}` or `{{=...}}` must reach Python unchanged; base64 has
 *   no braces, quotes or newlines), compressed because one argument holds at
 *   most 128 KiB and the runtime alone is most of that in clear.
 * - The binding (which Python name each key stands for, and its type) is
 *   base64 JSON for the same reason: only keys made of `[A-Za-z0-9_]` (see
 *   k8s-names.ts) appear in flags and placeholders.
 * - FLAGS are fixed words followed by a fixed number of values (runtime.py
 *   `cluster_main` reads them positionally, so a value starting with `-` is
 *   still a value).
 */
import { zlibSync } from 'fflate';
import type { ParameterType } from '../tags/parameters';
import type { RunnableStep } from './runnable-steps';
import { runnableProgram, StepRuntime } from './step-program';

/** Runs argv[1] (the program, zlib then base64) as `__main__`, with the rest of argv as its arguments. */
export const BOOTSTRAP =
  'import base64, sys, zlib; src = zlib.decompress(base64.b64decode(sys.argv.pop(1))).decode("utf-8"); ' +
  'exec(compile(src, "cellpipe-step.py", "exec"))';

/** Where the adapter copies the step's metrics (a fixed path: no name reaches a path). */
export const METRICS_FILE = '/tmp/cellpipe/metrics.json';

/**
 * Where the adapter writes the step's outputs for Argo to return them: capped JSON (output parameter), or
 * whole (output artifact, when the cluster has an artifact repository).
 */
export const OUTPUTS_FILE = '/tmp/cellpipe/outputs.json';

/** Where the adapter writes a failed step's error (cell, line, exception) for Argo to return it. */
export const ERROR_FILE = '/tmp/cellpipe/error.json';

/** Above this, Linux refuses one argument string (MAX_ARG_STRLEN is 128 KiB). */
export const MAX_ARG_BYTES = 128 * 1024 - 1;

/** The step's names, bound to the keys the container sees. */
export interface StepBinding {
  params: Record<string, [string, ParameterType]>;
  ins: Record<string, string>;
  outs: Record<string, string>;
}

/** Base64 of the text's UTF-8 bytes, with the platform's encoders (browsers and Node have both). */
export function base64Utf8(text: string): string {
  return base64Bytes(new TextEncoder().encode(text));
}

function base64Bytes(bytes: Uint8Array): string {
  let binary = '';
  // In chunks: String.fromCharCode with one argument per byte would overflow the stack on big programs.
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary);
}

export class CompileError extends Error {}

/** The program of one step as BOOTSTRAP reads it (zlib, then base64), checked against the argument size limit. */
export function encodedProgram(step: RunnableStep, runtime: StepRuntime): string {
  const text = new TextEncoder().encode(runnableProgram(step, runtime));
  const program = base64Bytes(zlibSync(text, { level: 9 }));
  if (program.length > MAX_ARG_BYTES) {
    throw new CompileError(
      `Step ${step.name}: its program is ${Math.ceil(program.length / 1024)} KiB compressed and encoded, above the ` +
        `128 KiB a container argument may hold. Move large literals out of its cells (read them from a file).`
    );
  }
  return program;
}

/** Flags of the container command. Each is a word followed by its values. */
export type AdapterFlag =
  | ['--run-dir', string]
  | ['--param', string, string]
  | ['--in', string, string]
  | ['--out', string, string]
  | ['--metrics', string]
  | ['--html', string]
  | ['--outputs', string]
  | ['--full-outputs', string]
  | ['--error', string]
  | ['--executor-input', string]
  | ['--workdir', string]
  | ['--results-in-log']
  | ['--metrics-log'];

export function containerCommand(program: string, binding: StepBinding, flags: AdapterFlag[]): string[] {
  return [
    'python3',
    '-c',
    BOOTSTRAP,
    program,
    '--cluster',
    base64Utf8(JSON.stringify(binding)),
    ...flags.flat()
  ];
}
