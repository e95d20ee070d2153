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
