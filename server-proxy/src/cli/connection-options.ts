/**
 * How the CLI is told to reach the cluster, declared once. `submit`, `sweep` and `schedule` take all five
 * options; `inputs` only the access ones, since a run's record names its endpoint and namespace. They parse
 * to ConnectionFlags, which environmentConnection reads.
 */
import type { Command } from 'commander';
import type { ConnectionFlags } from '../engines/cluster/connection';

/** The options that say who the CLI is on the cluster, not where to run. */
export type AccessFlags = Pick<ConnectionFlags, 'tokenFile' | 'kubeconfig' | 'context'>;

export function addConnectionOptions(command: Command): Command {
  return addAccessOptions(
    command
      .option('--endpoint <url>', 'the KFP API endpoint (default: the pipeline setting, then in-cluster)')
      .option(
        '--namespace <ns>',
        "the cluster namespace (default: the pipeline setting, then the notebook pod's)"
      )
  );
}

export function addAccessOptions(command: Command): Command {
  return command
    .option('--token-file <file>', 'a bearer token for KFP (default: the pod service-account token)')
    .option('--kubeconfig <file>', 'the kubeconfig for Kubernetes (default: in-cluster or KUBECONFIG)')
    .option('--context <name>', 'a context of the kubeconfig (default: its current context)');
}
