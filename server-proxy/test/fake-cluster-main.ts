/**
 * The loopback cluster as a process of its own, for tests in other languages (pytest drives the real CLI
 * against it): `node fake-cluster.js [OPTIONS_JSON]` prints its URL, then answers one command per line on
 * stdin with one JSON line on stdout: `fire-cron NAME` (what Argo's cron controller does when it is due),
 * `cron NAME` (the CronWorkflow as stored), `snapshots` (the VolumeSnapshots' names), `workflows` (the
 * Workflows as created), `volume CLAIM DIR` (the folder the claim holds, for pods that mount it), `pods`
 * (the pods created through the API and still there). Bundled by the test with esbuild.
 */
import { createInterface } from 'readline';
import { FakeCluster, FakeOptions } from './cluster-fake';

async function main(): Promise<void> {
  const fake = await new FakeCluster(JSON.parse(process.argv[2] ?? '{}') as FakeOptions).start();
  process.stdout.write(`${fake.url}\n`);
  const lines = createInterface({ input: process.stdin });
  for await (const line of lines) {
    const [command, arg, more] = line.trim().split(/\s+/);
    const answer =
      command === 'fire-cron'
        ? { workflow: fake.fireCron(arg) }
        : command === 'cron'
          ? { cron: fake.cronWorkflows.get(arg)?.body ?? null }
          : command === 'snapshots'
            ? { snapshots: [...fake.snapshots.keys()] }
            : command === 'workflows'
              ? { workflows: [...fake.workflows.values()].map(w => w.body) }
              : command === 'volume'
                ? { volume: fake.volumeDirs.set(arg, more).get(arg) }
                : command === 'pods'
                  ? { pods: [...fake.pods.keys()] }
                  : { error: `unknown command ${command}` };
    process.stdout.write(JSON.stringify(answer) + '\n');
  }
  await fake.stop();
}

void main();
