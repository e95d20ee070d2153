/**
 * `cellpipe submit --watch --report FILE.md --junit FILE.xml` (built CLI) against the loopback Kubernetes
 * server: the report and JUnit XML of a cluster run, with its failed step's error (cell and line, the
 * runtime's `error` output) and, as a cluster run keeps no traceback file, its log's last lines.
 */
import { spawn } from 'child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { dirname, join } from 'path';
import { FakeCluster, FakeOptions } from './cluster-fake';
import { writeClusterNotebook } from './cluster-notebook';

jest.setTimeout(60000);

const CLI = join(__dirname, '..', '..', 'cellpipe', 'js', 'cli.js');

let fake: FakeCluster;
afterEach(() => fake?.stop());

function kubeconfig(url: string): string {
  const path = join(mkdtempSync(join(tmpdir(), 'cellpipe-kube-')), 'config');
  const lines = [
    'apiVersion: v1',
    'kind: Config',
    `clusters:\n- name: fake\n  cluster:\n    server: ${url}\n    insecure-skip-tls-verify: true`,
    'users:\n- name: me\n  user:\n    token: cli-token',
    'contexts:\n- name: fake\n  context:\n    cluster: fake\n    user: me\n    namespace: team-a',
    'current-context: fake'
  ];
  writeFileSync(path, lines.join('\n') + '\n');
  return path;
}

async function submit(
  options: FakeOptions,
  args: string[]
): Promise<{ code: number | null; stderr: string; folder: string }> {
  fake = await new FakeCluster(options).start();
  const notebook = writeClusterNotebook({ namespace: 'team-a' });
  const folder = dirname(notebook);
  const argv = ['submit', notebook, '--target', 'argo', '--kubeconfig', kubeconfig(fake.url), ...args];
  return new Promise(resolve => {
    const child = spawn(process.execPath, [CLI, ...argv], {
      cwd: folder,
      env: { ...process.env, CELLPIPE_POLL_MS: '10', KUBECONFIG: '', CELLPIPE_POD_NAME: '' }
    });
    let stderr = '';
    child.stderr.on('data', c => (stderr += c));
    child.on('close', code => resolve({ code, stderr, folder }));
  });
}

describe('cellpipe submit --report --junit', () => {
  beforeAll(() => expect(existsSync(CLI)).toBe(true));

  it('reports a failed cluster step with its cell, line and log, and each step as a test case', async () => {
    const error = {
      cell: 3,
      line: 1,
      ename: 'ZeroDivisionError',
      message: 'cell 4, line 1 raised ZeroDivisionError: division by zero'
    };
    const r = await submit({ failTask: 'evaluate', failError: error }, [
      '--watch',
      '--report',
      'report.md',
      '--junit',
      'junit.xml'
    ]);
    expect(r.code).toBe(1);
    const report = readFileSync(join(r.folder, 'report.md'), 'utf8');
    expect(report).toMatch(/^## ❌ sales: run \S+ failed\n/);
    expect(report).toMatch(/`sales\.ipynb` · argo \(\S+ in team-a\) · 3 steps: 2 succeeded, 1 failed/);
    expect(report).toContain('| `evaluate` | ✗ failed: cell 4, line 1 |');
    const failure = report.split('### Failures\n\n')[1];
    expect(failure).toContain('**evaluate** failed at cell 4, line 1:');
    expect(failure).toContain('ZeroDivisionError: division by zero');
    expect(failure).toMatch(/log of \S+evaluate\S* \(container main\)/);
    const xml = readFileSync(join(r.folder, 'junit.xml'), 'utf8');
    expect(xml).toContain(
      '<testsuite name="sales.ipynb (sales)" tests="3" failures="1" errors="0" skipped="0"'
    );
    expect(xml).toMatch(
      /<testcase name="evaluate" classname="sales.ipynb" time="[\d.]+">\s*<failure message="Step evaluate failed: cell 4, line 1 raised ZeroDivisionError: division by zero" type="ZeroDivisionError">/
    );
  });

  it('reports a run submitted without --watch as still running', async () => {
    const r = await submit({}, ['--junit', 'junit.xml', '--report', 'report.md']);
    expect(r.code).toBe(0);
    expect(readFileSync(join(r.folder, 'report.md'), 'utf8')).toMatch(/^## ⏳ sales: run \S+ running\n/);
    expect(readFileSync(join(r.folder, 'junit.xml'), 'utf8')).toContain(
      '<skipped message="still queued when the report was written"/>'
    );
  });
});
