/**
 * The steps' Python environment in a run's lineage (version, packages) is asked once and kept, by this
 * process and in a cache file for the next one, while the Python and its `sys.path` folders are unchanged:
 * installing or removing a distribution asks again. A real Python in a real virtual environment.
 */
import { execFileSync } from 'child_process';
import { mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';

type Lineage = typeof import('../src/engines/local/lineage');

/** The module as a new process loads it: nothing kept in memory. */
function freshModule(): Lineage {
  let loaded: Lineage | undefined;
  jest.isolateModules(() => {
    loaded = jest.requireActual<Lineage>('../src/engines/local/lineage');
  });
  return loaded!;
}

describe('pythonEnvironment', () => {
  const folder = mkdtempSync(join(tmpdir(), 'cellpipe-pyenv-'));
  const venv = join(folder, 'venv');
  execFileSync('python3', ['-m', 'venv', '--without-pip', venv]);
  const python = join(venv, 'bin', 'python');
  const lib = join(venv, 'lib');
  const site = join(lib, readdirSync(lib)[0], 'site-packages');
  const cache = join(folder, 'project', '.cellpipe', 'python-environments.json');
  const install = (name: string, version: string) => {
    mkdirSync(join(site, `${name}-${version}.dist-info`), { recursive: true });
    writeFileSync(
      join(site, `${name}-${version}.dist-info`, 'METADATA'),
      `Metadata-Version: 2.1\nName: ${name}\nVersion: ${version}\n`
    );
  };

  it('is asked once, kept across processes, and asked again when a distribution is installed', async () => {
    install('demo', '1.0');
    const first = await freshModule().pythonEnvironment(python, cache);
    expect(first.packages).toEqual({ demo: '1.0' });
    expect(first.python).toMatch(/^3\.\d+\.\d+$/);

    // Changed in place (no folder of sys.path changes): what was kept is given, by this process and the next.
    writeFileSync(
      join(site, 'demo-1.0.dist-info', 'METADATA'),
      'Metadata-Version: 2.1\nName: demo\nVersion: 9.9\n'
    );
    expect((await freshModule().pythonEnvironment(python, cache)).packages).toEqual({ demo: '1.0' });

    install('other', '2.0');
    expect((await freshModule().pythonEnvironment(python, cache)).packages).toEqual({
      demo: '9.9',
      other: '2.0'
    });
  });

  it('says nothing of a Python that cannot start', async () => {
    const lineage = freshModule();
    expect(await lineage.pythonEnvironment(join(folder, 'no-such-python'), cache)).toEqual({});
  });

  it('asks again when the cache file holds no answers (valid JSON, but not an object of them)', async () => {
    for (const text of ['null', '[]', '3', '{']) {
      writeFileSync(cache, text);
      const found = await freshModule().pythonEnvironment(python, cache);
      expect(found.python).toMatch(/^3\.\d+\.\d+$/);
    }
  });
});
