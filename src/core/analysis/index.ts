export { PythonAnalyser } from './analyser';
export { isBuiltinName } from './builtins';
export { createPythonParser, loadPython } from './parser';
export type { LocateWasm, WasmFile, WasmSource } from './parser';
export * from './types';
