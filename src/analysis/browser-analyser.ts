/**
 * The Python analyser in the browser: web-tree-sitter and the Python grammar
 * ship as files in the extension's static folder; loaded once, on first use.
 */
import runtimeWasmUrl from 'web-tree-sitter/web-tree-sitter.wasm';
import pythonWasmUrl from 'tree-sitter-python/tree-sitter-python.wasm';
import { PythonAnalyser } from '../core/analysis';
import type { LocateWasm, WasmFile } from '../core/analysis';

const URLS: Record<WasmFile, string> = { runtime: runtimeWasmUrl, python: pythonWasmUrl };

const locateWasmBrowser: LocateWasm = async file => {
  const response = await fetch(URLS[file]);
  if (!response.ok) {
    throw new Error(`Could not load the Python parser (${URLS[file]}: HTTP ${response.status}).`);
  }
  return new Uint8Array(await response.arrayBuffer());
};

let analyser: Promise<PythonAnalyser> | undefined;

export function browserAnalyser(): Promise<PythonAnalyser> {
  analyser ??= PythonAnalyser.create(locateWasmBrowser);
  // A failed download may succeed on a later attempt.
  analyser.catch(() => (analyser = undefined));
  return analyser;
}
