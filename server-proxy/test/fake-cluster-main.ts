/**
 * The loopback cluster as a process of its own, for tests in other languages (pytest drives the real CLI
 * against it): prints its URL, then answers one command per line on stdin with one JSON line on stdout:
 * `fire-cron NAME` (what Argo's cron controller does when it is due), `cron NAME` (the CronWorkflow as
 * stored), `snapshots` (the VolumeSnapshots' names). Bundled by the test with esbuild.
 */
import { createInterface } from 'readline';
import { FakeCluster } from './cluster-fake';

async function main(): Promise<void> {
  const fake = await new FakeCluster({}).start();
  process.stdout.write(`${fake.url}\n`);
  const lines = createInterface({ input: process.stdin });
  for await (const line of lines) {
    const [command, arg] = line.trim().split(/\s+/);
    const answer =
      command === 'fire-cron'
        ? { workflow: fake.fireCron(arg) }
        : command === 'cron'
          ? { cron: fake.cronWorkflows.get(arg)?.body ?? null }
          : command === 'snapshots'
            ? { snapshots: [...fake.snapshots.keys()] }
            : { error: `unknown command ${command}` };
    process.stdout.write(JSON.stringify(answer) + '\n');
  }
  await fake.stop();
}

void main();
