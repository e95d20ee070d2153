/**
 * What tests of the core and of the frontend models share: a real Python analyser (tree-sitter wasm
 * from node_modules) and notebooks written as [tags, source] pairs of code cells.
 */
import { PythonAnalyser } from '../analysis';
import type { NotebookData } from '../notebook/model';
import { locateWasmNode } from '../../../server-proxy/src/wasm-node';

export function createAnalyser(): Promise<PythonAnalyser> {
  return PythonAnalyser.create(locateWasmNode);
}

export function codeNotebook(...cells: Array<[string[], string]>): NotebookData {
  return {
    cells: cells.map(([tags, source], index) => ({ index, type: 'code', source, tags })),
    metadata: {}
  };
}
