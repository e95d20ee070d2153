import { createPythonParser } from '../parser';
import { locateWasmNode } from '../../../../server-proxy/src/wasm-node';

describe('the Python grammar', () => {
  it('parses modern syntax without error nodes', async () => {
    const parser = await createPythonParser(locateWasmNode);
    const tree = parser.parse('x = [i for i in range(3)]\nmatch x:\n    case [a, *rest]: pass\n');
    expect(tree).not.toBeNull();
    expect(tree!.rootNode.type).toBe('module');
    expect(tree!.rootNode.hasError).toBe(false);
    tree!.delete();
  });
});
