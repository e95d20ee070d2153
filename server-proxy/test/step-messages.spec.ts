/**
 * The one-line messages of cluster steps, from what Kubernetes and Argo say (the raw texts below are as
 * the lab's real cluster wrote them into Workflow nodes).
 */
import { failureMessage, waitingReason } from '../src/engines/cluster/step-messages';

describe('why a queued step waits', () => {
  it('names the resource no node has, and what to do', () => {
    const line = waitingReason(
      'train',
      'Unschedulable: 0/1 nodes are available: 1 Insufficient nvidia.com/gpu. preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod.',
      'team-a'
    )!;
    expect(line).toMatch(
      /^Step train cannot be scheduled: 0\/1 nodes are available: 1 Insufficient nvidia.com\/gpu\./
    );
    expect(line).toContain("Lower the step's CPU, memory or GPU request");
    expect(line.split('\n')).toHaveLength(1);
  });

  it('says the namespace is over its quota, with the quota', () => {
    const line = waitingReason(
      'first',
      'pods "fault-abc-first-123" is forbidden: exceeded quota: e2e-pods, requested: pods=1, used: pods=1, limited: pods=1',
      'team-a'
    )!;
    expect(line).toContain('Step first cannot start: namespace team-a is over its ResourceQuota');
    expect(line).toContain('e2e-pods');
  });

  it('names an image that cannot be pulled', () => {
    const line = waitingReason(
      'first',
      'Back-off pulling image "localhost/no-such-image:1": ErrImagePull: failed to pull and unpack image',
      'team-a'
    )!;
    expect(line).toContain('Step first: its image localhost/no-such-image:1 cannot be pulled');
    expect(line).toContain("Check the step's image setting");
  });

  it('says nothing while nothing is wrong', () => {
    expect(waitingReason('first', undefined, 'team-a')).toBeUndefined();
    expect(waitingReason('first', 'PodInitializing', 'team-a')).toBeUndefined();
  });
});

describe('why a step failed', () => {
  it("prefers the step's own error, and says how often it was tried", () => {
    expect(
      failureMessage('first', {
        raw: 'Error (exit code 1)',
        attempts: 3,
        error: { message: 'cell 2, line 1 raised ValueError: no data for march', cell: 1, line: 1 }
      })
    ).toBe('Step first failed after 3 attempts: cell 2, line 1 raised ValueError: no data for march');
  });

  it('names the timeout when the pod passed its deadline', () => {
    expect(
      failureMessage('first', {
        raw: 'Pod was active on the node longer than the specified deadline',
        timeoutSeconds: 15
      })
    ).toBe(
      "Step first was stopped at its timeout of 15 s. Raise the step's timeout setting, or make the step faster."
    );
  });

  it('says out of memory', () => {
    expect(failureMessage('first', { raw: 'OOMKilled (exit code 137)' })).toContain('ran out of memory');
  });

  it("keeps the cluster's words otherwise", () => {
    expect(failureMessage('first', { raw: 'Error (exit code 1)' })).toBe(
      'Step first failed on the cluster: Error (exit code 1)'
    );
  });
});
