/**
 * The loopback cluster (cluster-fake.ts) as a process of its own, for tests outside jest (pytest drives
 * the installed CLI against it): `node serve-cluster-fake.js '{"failTask": "train-t3"}'` prints its URL on
 * the first line and serves until stdin closes.
 *
 * `productMetric: NAME`: a step that records metrics writes NAME = the product of the numeric swept values
 * it was computed with (a sweep's trials then rank by them); options that are functions cannot be JSON.
 */
import { FakeCluster, FakeOptions } from './cluster-fake';

async function main(): Promise<void> {
  const given = JSON.parse(process.argv[2] ?? '{}') as FakeOptions & { productMetric?: string };
  const { productMetric, ...options } = given;
  if (productMetric) {
    options.metricsOf = inputs => {
      const values = Object.entries(inputs)
        .filter(([name]) => name !== 'trial')
        .map(([, value]) => Number(value));
      return values.length > 0 ? { [productMetric]: values.reduce((a, b) => a * b, 1) } : {};
    };
  }
  const fake = await new FakeCluster(options).start();
  process.stdout.write(`${fake.url}\n`);
  process.stdin.resume();
  process.stdin.on('end', () => {
    fake.stop();
    process.exit(0);
  });
}

void main();
