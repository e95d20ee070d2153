/** The Python analyser for Node (CLI and server), created once per process. */
import { PythonAnalyser } from '../../src/core/analysis';
import { locateWasmNode } from './wasm-node';

let analyser: Promise<PythonAnalyser> | undefined;

export function nodeAnalyser(): Promise<PythonAnalyser> {
  analyser ??= PythonAnalyser.create(locateWasmNode);
  return analyser;
}
