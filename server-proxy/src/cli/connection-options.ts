/**
 * How `cellpipe submit`, `sweep` and `schedule` are told to reach the cluster: the five options, declared
 * once. They parse to ConnectionFlags, which environmentConnection reads.
 */
import type { Command } from 'commander';

export function addConnectionOptions(command: Command): Command {
  return command
    .option('--endpoint <url>', 'the KFP API endpoint (default: the pipeline setting, then in-cluster)')
    .option(
      '--namespace <ns>',
      "the cluster namespace (default: the pipeline setting, then the notebook pod's)"
    )
    .option('--token-file <file>', 'a bearer token for KFP (default: the pod service-account token)')
    .option('--kubeconfig <file>', 'the kubeconfig for Kubernetes (default: in-cluster or KUBECONFIG)')
    .option('--context <name>', 'a context of the kubeconfig (default: its current context)');
}
