/**
 * Where the Node side (server, CLI, tests) finds tree-sitter's wasm files:
 * next to the bundled script when running from the Python package, otherwise
 * in node_modules.
 */
import { existsSync } from 'fs';
import { readFile } from 'fs/promises';
import { dirname, join } from 'path';
import type { LocateWasm, WasmFile } from '../../src/core/analysis/parser';

const FILE_NAMES: Record<WasmFile, string> = {
  runtime: 'web-tree-sitter.wasm',
  python: 'tree-sitter-python.wasm'
};

function packagedPath(file: WasmFile): string | undefined {
  const candidate = join(__dirname, FILE_NAMES[file]);
  return existsSync(candidate) ? candidate : undefined;
}

function nodeModulesPath(file: WasmFile): string {
  // Resolve the package folder, then join the file name: the wasm files are not
  // in the packages' "exports".
  return file === 'runtime'
    ? join(dirname(require.resolve('web-tree-sitter')), FILE_NAMES.runtime)
    : join(dirname(require.resolve('tree-sitter-python/package.json')), FILE_NAMES.python);
}

export const locateWasmNode: LocateWasm = file => readFile(packagedPath(file) ?? nodeModulesPath(file));
