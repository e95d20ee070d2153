/** Which Python runs a notebook's steps: the one its kernel spec names, found as Jupyter finds it. */
import { mkdirSync, mkdtempSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import type { NotebookData } from '../../src/core/notebook/model';
import { kernelPython } from '../src/kernel-python';

const PYTHON = join(__dirname, '..', '..', '.venv', 'bin', 'python');

function notebookWithKernel(name: string): NotebookData {
  return { cells: [], metadata: { kernelspec: { name } }, nbformat: 4, nbformat_minor: 5 } as NotebookData;
}

describe('the kernel spec Python', () => {
  const saved = process.env.JUPYTER_PATH;
  afterEach(() => {
    if (saved === undefined) {
      delete process.env.JUPYTER_PATH;
    } else {
      process.env.JUPYTER_PATH = saved;
    }
  });

  it("reads the spec's kernel.json from the first Jupyter folder that has it, whatever the name's case", async () => {
    const first = mkdtempSync(join(tmpdir(), 'cellpipe-kernels-'));
    const second = mkdtempSync(join(tmpdir(), 'cellpipe-kernels-'));
    for (const [root, python] of [
      [first, '/opt/first/bin/python'],
      [second, '/opt/second/bin/python']
    ]) {
      mkdirSync(join(root, 'kernels', 'Analysis'), { recursive: true });
      writeFileSync(
        join(root, 'kernels', 'Analysis', 'kernel.json'),
        JSON.stringify({
          argv: [python, '-m', 'ipykernel_launcher', '-f', '{connection_file}'],
          language: 'python'
        })
      );
    }
    process.env.JUPYTER_PATH = [first, second].join(':');
    await expect(kernelPython(notebookWithKernel('analysis'), PYTHON)).resolves.toEqual({
      python: '/opt/first/bin/python',
      reason: 'kernel spec "analysis"'
    });
  });

  it("a name no Jupyter folder has is asked of jupyter_client: unknown, it runs on Jupyter's Python", async () => {
    process.env.JUPYTER_PATH = mkdtempSync(join(tmpdir(), 'cellpipe-kernels-'));
    await expect(kernelPython(notebookWithKernel('no-such-kernel'), PYTHON)).resolves.toEqual({
      python: PYTHON,
      reason: 'kernel spec "no-such-kernel" was not found; using Jupyter\'s Python'
    });
  });
});
