/**
 * Loading tree-sitter's Python grammar. The only environment-specific input is
 * `locate`, which hands back the bytes (or, in the browser, a URL) of a wasm
 * file: the frontend, the server and the CLI each pass their own.
 */
import { Language, Parser } from 'web-tree-sitter';

export type WasmFile = 'runtime' | 'python';
export type WasmSource = Uint8Array | string;
export type LocateWasm = (file: WasmFile) => WasmSource | Promise<WasmSource>;

type InitOptions = NonNullable<Parameters<typeof Parser.init>[0]>;

let language: Promise<Language> | undefined;

/**
 * The functions of web-tree-sitter's wasm binding that `readSyntaxTree` calls directly, one call per move
 * or question of a tree cursor (its `TreeCursor` adds several copies of the cursor's state to each). The
 * Emscripten module web-tree-sitter creates is the options object `Parser.init` is given, so they are
 * found there after it; a realm whose web-tree-sitter was initialised elsewhere goes without.
 */
export interface WasmBinding {
  HEAP32: Int32Array;
  /** The address of the transfer buffer (ts_init only writes the two versions at its start). */
  _ts_init(): number;
  _ts_tree_cursor_current_node_type_id_wasm(tree: number): number;
  _ts_tree_cursor_current_field_id_wasm(tree: number): number;
  _ts_tree_cursor_start_index_wasm(tree: number): number;
  _ts_tree_cursor_end_index_wasm(tree: number): number;
  _ts_tree_cursor_goto_first_child_wasm(tree: number): number;
  _ts_tree_cursor_goto_next_sibling_wasm(tree: number): number;
  _ts_tree_cursor_goto_parent_wasm(tree: number): number;
}

const BINDING_FUNCTIONS = [
  '_ts_init',
  '_ts_tree_cursor_current_node_type_id_wasm',
  '_ts_tree_cursor_current_field_id_wasm',
  '_ts_tree_cursor_start_index_wasm',
  '_ts_tree_cursor_end_index_wasm',
  '_ts_tree_cursor_goto_first_child_wasm',
  '_ts_tree_cursor_goto_next_sibling_wasm',
  '_ts_tree_cursor_goto_parent_wasm'
] as const;

let binding: WasmBinding | undefined;

/** The binding, once the grammar is loaded in this realm (undefined where it cannot be reached). */
export function wasmBinding(): WasmBinding | undefined {
  return binding;
}

function asBinding(module: Record<string, unknown>): WasmBinding | undefined {
  const complete =
    module.HEAP32 instanceof Int32Array &&
    BINDING_FUNCTIONS.every(name => typeof module[name] === 'function');
  return complete ? (module as unknown as WasmBinding) : undefined;
}

// Re-wrap bytes as a Uint8Array of this realm (no copy): web-tree-sitter tests
// `instanceof Uint8Array`, which a Node Buffer from another realm fails.
function normalize(source: WasmSource): WasmSource {
  return typeof source === 'string'
    ? source
    : new Uint8Array(source.buffer, source.byteOffset, source.byteLength);
}

/** Initialise web-tree-sitter once per JavaScript realm and load the Python grammar. */
export function loadPython(locate: LocateWasm): Promise<Language> {
  if (!language) {
    language = (async () => {
      const runtime = normalize(await locate('runtime'));
      const options = typeof runtime === 'string' ? { locateFile: () => runtime } : { wasmBinary: runtime };
      // @types/emscripten types wasmBinary as ArrayBuffer; a Uint8Array is what the runtime accepts.
      await Parser.init(options as unknown as InitOptions);
      binding = asBinding(options as Record<string, unknown>);
      return Language.load(normalize(await locate('python')));
    })();
    // A failed download may succeed on a later attempt.
    language.catch(() => (language = undefined));
  }
  return language;
}

export async function createPythonParser(locate: LocateWasm): Promise<Parser> {
  const lang = await loadPython(locate);
  return new Parser().setLanguage(lang);
}
