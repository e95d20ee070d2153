/**
 * The errors a user can meet when submitting to a cluster, each with a stable code, the HTTP status the
 * server answers with, and a message that says what to do. Kubernetes and KFP failures are mapped here so
 * the server and the CLI word them alike.
 */

export type ClusterErrorCode =
  | 'forbidden'
  | 'quota-exceeded'
  | 'unauthorized'
  | 'invalid'
  | 'already-exists'
  | 'not-found'
  | 'unreachable'
  | 'not-in-cluster'
  | 'no-such-context'
  | 'no-endpoint'
  | 'bad-token-file'
  | 'no-snapshot-class'
  | 'snapshot-failed'
  | 'snapshot-timeout'
  | 'not-compiled'
  | 'cluster-error';

const HTTP_STATUS: Record<ClusterErrorCode, number> = {
  forbidden: 403,
  'quota-exceeded': 403,
  unauthorized: 401,
  invalid: 422,
  'already-exists': 409,
  'not-found': 404,
  unreachable: 502,
  'not-in-cluster': 409,
  'no-such-context': 400,
  'no-endpoint': 409,
  'bad-token-file': 400,
  'no-snapshot-class': 409,
  'snapshot-failed': 502,
  'snapshot-timeout': 504,
  'not-compiled': 422,
  'cluster-error': 502
};

export class ClusterError extends Error {
  readonly httpStatus: number;
  constructor(
    readonly code: ClusterErrorCode,
    message: string
  ) {
    super(message);
    this.httpStatus = HTTP_STATUS[code];
  }
}

/** What was being done, for the message: "create the Workflow", in which namespace, against which server. */
export interface Attempt {
  action: string;
  namespace?: string;
  /** The API server or KFP endpoint, for "cannot reach". */
  server?: string;
  /** Which service: "Kubernetes" or "Kubeflow Pipelines". */
  service: string;
}

/** What each kind of network failure means for a user, by the errno-style or undici code Node gives. */
const NETWORK_HINTS: Array<[RegExp, string]> = [
  [/^(ENOTFOUND|EAI_AGAIN)$/, 'the host name does not resolve'],
  [/^ECONNREFUSED$/, 'the connection was refused: nothing listens at that address and port'],
  [/^(ETIMEDOUT|UND_ERR_CONNECT_TIMEOUT|UND_ERR_HEADERS_TIMEOUT)$/, 'the connection timed out'],
  [/^(EHOSTUNREACH|ENETUNREACH)$/, 'there is no route to the host'],
  [/^(ECONNRESET|EPIPE|UND_ERR_SOCKET)$/, 'the server closed the connection'],
  [
    /^(EPROTO|ERR_SSL_.*|ERR_TLS_.*|.*CERT.*|UNABLE_TO_.*)$/,
    'the TLS handshake failed: check http:// or https:// in the address, and that its certificate is trusted'
  ]
];

/** The first errno-style code of a network failure, looking through fetch's `cause` chain and AggregateErrors. */
export function networkCode(err: unknown): string | undefined {
  return networkCause(err)?.code;
}

function networkCause(err: unknown, depth = 0): { code: string; hint: string } | undefined {
  if (typeof err !== 'object' || err === null || depth > 5) {
    return undefined;
  }
  const e = err as { code?: unknown; cause?: unknown; errors?: unknown };
  if (typeof e.code === 'string') {
    const hint = NETWORK_HINTS.find(([pattern]) => pattern.test(e.code as string))?.[1];
    if (hint) {
      return { code: e.code, hint };
    }
  }
  for (const inner of [e.cause, ...(Array.isArray(e.errors) ? e.errors : [])]) {
    const found = networkCause(inner, depth + 1);
    if (found) {
      return found;
    }
  }
  return undefined;
}

/** The innermost message of an error's `cause` chain ("fetch failed" says nothing; its cause does). */
function innermostMessage(err: unknown): string {
  let e = err as { message?: unknown; cause?: unknown } | undefined;
  let message = err instanceof Error ? err.message : String(err);
  for (let depth = 0; e && typeof e === 'object' && depth < 5; depth++) {
    if (typeof e.message === 'string' && e.message) {
      message = e.message;
    }
    e = e.cause as typeof e;
  }
  return message;
}

/** The `message` of a Kubernetes `Status` body or a KFP/gRPC-gateway error body (`{error, message}`). */
export function bodyMessage(body: unknown): string | undefined {
  let parsed = body;
  if (typeof body === 'string') {
    try {
      parsed = JSON.parse(body);
    } catch {
      return body.trim() ? body.trim().slice(0, 500) : undefined;
    }
  }
  if (typeof parsed === 'object' && parsed !== null) {
    const b = parsed as { message?: unknown; error?: unknown };
    if (typeof b.message === 'string' && b.message) {
      return b.message;
    }
    if (typeof b.error === 'string' && b.error) {
      return b.error;
    }
    // KFP's upload endpoints answer {error_message, error_details}.
    const upload = parsed as { error_message?: unknown };
    if (typeof upload.error_message === 'string' && upload.error_message) {
      return upload.error_message;
    }
  }
  return undefined;
}

/** Turns an HTTP status and the server's message into a typed error with an actionable message. */
export function errorForStatus(status: number, detail: string | undefined, attempt: Attempt): ClusterError {
  const ns = attempt.namespace ? ` in namespace "${attempt.namespace}"` : '';
  const said = detail ? ` The server said: ${detail}` : '';
  if (status === 403 && /exceeded quota|forbidden: exceeded/i.test(detail ?? '')) {
    return new ClusterError(
      'quota-exceeded',
      `Could not ${attempt.action}${ns}: the namespace's resource quota is used up. Lower the steps' ` +
        `cpu/memory/gpu requests or ask for a larger quota.${said}`
    );
  }
  const denied = status === 403 ? rbacDenial(detail) : undefined;
  if (denied) {
    const where = denied.namespace ?? attempt.namespace;
    return new ClusterError(
      'forbidden',
      `Could not ${attempt.action}: ${denied.who} may not ${denied.verb} ${denied.resource}` +
        `${where ? ` in namespace "${where}"` : ''}. Ask your cluster admin for a role binding that allows ` +
        `it (the RBAC cellpipe needs is in its README), or submit to a namespace where you may.${said}`
    );
  }
  if (status === 403) {
    return new ClusterError(
      'forbidden',
      `Could not ${attempt.action}: no access${ns}. Check the namespace in the pipeline settings, and that ` +
        `your service account (or token) has a role binding there.${said}`
    );
  }
  if (status === 401) {
    return new ClusterError(
      'unauthorized',
      `Could not ${attempt.action}: ${attempt.service} did not accept the credentials. Check the token ` +
        `(--token-file) or kubeconfig.${said}`
    );
  }
  if (status === 422 || status === 400) {
    return new ClusterError(
      'invalid',
      `Could not ${attempt.action}: ${attempt.service} refused it as invalid. Check the step settings ` +
        `(resource values such as "500m" or "2Gi", names, images).${said}`
    );
  }
  if (status === 409) {
    return new ClusterError(
      'already-exists',
      `Could not ${attempt.action}${ns}: an object of that name already exists. Submit again (a new run gets ` +
        `new names) or delete the old one.${said}`
    );
  }
  if (status === 404) {
    return new ClusterError(
      'not-found',
      `Could not ${attempt.action}${ns}: not found. Is ${attempt.service === 'Kubernetes' ? 'the API (CRD) installed' : 'the endpoint right'}?${said}`
    );
  }
  return new ClusterError('cluster-error', `Could not ${attempt.action}${ns}: HTTP ${status}.${said}`);
}

/**
 * Who may not do what, from the API server's RBAC refusal: `User "system:serviceaccount:NS:NAME" cannot
 * VERB resource "R" in API group "G" in the namespace "NS"` (the group and namespace parts are absent for
 * the core group and cluster-scoped resources).
 */
function rbacDenial(
  detail: string | undefined
): { who: string; verb: string; resource: string; namespace?: string } | undefined {
  const m =
    /User "([^"]+)" cannot (\w+) resource "([^"]+)"(?: in API group "([^"]*)")?(?: in the namespace "([^"]+)")?/.exec(
      detail ?? ''
    );
  if (!m) {
    return undefined;
  }
  const [, user, verb, resource, group, namespace] = m;
  const account = /^system:serviceaccount:([^:]+):(.+)$/.exec(user);
  return {
    who: account ? `the service account ${account[2]} (namespace ${account[1]})` : `user ${user}`,
    verb,
    resource: group ? `${resource}.${group}` : resource,
    namespace
  };
}

/** Any failure of a call to Kubernetes (client-node) or KFP (fetch) as a ClusterError. */
export function clusterError(err: unknown, attempt: Attempt): ClusterError {
  if (err instanceof ClusterError) {
    return err;
  }
  // client-node's ApiException, recognised by shape so that two copies of the module (bundle, jest) agree.
  const api = err as { code?: unknown; body?: unknown };
  if (err instanceof Error && typeof api.code === 'number' && 'body' in err) {
    return errorForStatus(api.code, bodyMessage(api.body), attempt);
  }
  const net = networkCause(err);
  const where = attempt.server ? ` at ${attempt.server}` : '';
  const check =
    attempt.service === 'Kubernetes'
      ? 'Check the Kubernetes access in the pipeline settings (the kubeconfig context) and that the cluster is up.'
      : 'Check the KFP endpoint in the pipeline settings (or --endpoint) and that the service is running.';
  if (net) {
    return new ClusterError(
      'unreachable',
      `Could not ${attempt.action}: cannot reach ${attempt.service}${where} (${net.hint}). ${check}`
    );
  }
  const inner = innermostMessage(err);
  if (/HTTP protocol is not allowed/i.test(inner)) {
    // client-node talks plain HTTP only when TLS verification is off.
    return new ClusterError(
      'unreachable',
      `Could not ${attempt.action}: the kubeconfig's cluster${where} is a plain http:// address, which the ` +
        'Kubernetes client uses only with insecure-skip-tls-verify: true. Use its https:// address, or set ' +
        'insecure-skip-tls-verify for that cluster.'
    );
  }
  // By name, not instanceof: fetch's TypeError may come from another realm (jest, bundles).
  if ((err as Error)?.name === 'TypeError' && /fetch failed/i.test((err as Error).message)) {
    // fetch refuses ports browsers block (9, 6000…) before connecting, saying only "bad port".
    const why = /^bad port$/i.test(inner)
      ? 'fetch refuses that port, one browsers block too; use the port the service listens on'
      : inner;
    return new ClusterError(
      'unreachable',
      `Could not ${attempt.action}: cannot reach ${attempt.service}${where} (${why}). ${check}`
    );
  }
  return new ClusterError('cluster-error', `Could not ${attempt.action}: ${inner}`);
}
