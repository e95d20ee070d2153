/**
 * The artifact repository of a cluster run: the S3-compatible store (MinIO in Kubeflow, any S3) where Argo
 * keeps the steps' output artifacts and archived logs, read with the AWS SDK so a step's outputs, metrics
 * and log come back whole, however large (an output parameter holds 256 KiB at most).
 *
 * Where the store is and its credentials come from the cluster: Argo records the repository a workflow
 * used in `status.artifactRepositoryRef.artifactRepository` (endpoint, bucket, the Secret keys), and the
 * Secret is in the workflow's namespace.
 */
import { GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { createWriteStream } from 'fs';
import { rename, rm } from 'fs/promises';
import type { Readable } from 'stream';
import { pipeline } from 'stream/promises';
import { clusterError } from './cluster-errors';
import type { KubeClients } from './kube-client';

/** Argo's `s3` artifact repository (workflow-controller ConfigMap or namespace `artifact-repositories`). */
export interface S3Repository {
  endpoint?: string;
  bucket?: string;
  region?: string;
  insecure?: boolean;
  accessKeySecret?: { name: string; key: string };
  secretKeySecret?: { name: string; key: string };
}

export interface StoredObject {
  key: string;
  /** When it was written (ISO time); the later of two attempts' objects is the one to show. */
  modified: string;
}

export interface ArtifactStore {
  /** The object's text. */
  read(key: string): Promise<string>;
  /** The objects whose keys start with `prefix`, all pages. */
  list(prefix: string): Promise<StoredObject[]>;
  /** The object's bytes into `file` (written whole, or not at all). */
  download(key: string, file: string): Promise<void>;
}

/** An S3 client for the repository, with the credentials read from its Secrets in `namespace`. */
export async function s3Store(
  kube: KubeClients,
  namespace: string,
  repo: S3Repository
): Promise<ArtifactStore> {
  if (!repo.endpoint || !repo.bucket) {
    throw new Error('the artifact repository names no S3 endpoint or bucket');
  }
  const secret = async (ref: { name: string; key: string } | undefined): Promise<string | undefined> => {
    if (!ref) {
      return undefined;
    }
    try {
      const s = await kube.core.readNamespacedSecret({ name: ref.name, namespace });
      const value = s.data?.[ref.key];
      return value === undefined ? undefined : Buffer.from(value, 'base64').toString('utf8');
    } catch (err) {
      throw clusterError(err, {
        action: `read the artifact store's credentials (Secret ${ref.name})`,
        namespace,
        server: kube.server,
        service: 'Kubernetes'
      });
    }
  };
  const [accessKeyId, secretAccessKey] = await Promise.all([
    secret(repo.accessKeySecret),
    secret(repo.secretKeySecret)
  ]);
  const scheme = repo.insecure ? 'http' : 'https';
  const client = new S3Client({
    endpoint: /^[a-z]+:\/\//.test(repo.endpoint) ? repo.endpoint : `${scheme}://${repo.endpoint}`,
    region: repo.region || 'us-east-1',
    // MinIO and other S3 servers are addressed by path, not by a bucket host name.
    forcePathStyle: true,
    ...(accessKeyId && secretAccessKey ? { credentials: { accessKeyId, secretAccessKey } } : {})
  });
  const bucket = repo.bucket;
  return {
    async read(key: string): Promise<string> {
      const object = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      if (!object.Body) {
        throw new Error(`the artifact ${key} is empty`);
      }
      return object.Body.transformToString('utf8');
    },
    async download(key: string, file: string): Promise<void> {
      const object = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      if (!object.Body) {
        throw new Error(`the artifact ${key} is empty`);
      }
      const tmp = `${file}.part`;
      try {
        // In Node the SDK's body is the HTTP response, a Readable: streamed, however large.
        await pipeline(object.Body as Readable, createWriteStream(tmp));
        await rename(tmp, file);
      } catch (err) {
        await rm(tmp, { force: true });
        throw err;
      }
    },
    async list(prefix: string): Promise<StoredObject[]> {
      const found: StoredObject[] = [];
      let token: string | undefined;
      do {
        const page = await client.send(
          new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token })
        );
        for (const o of page.Contents ?? []) {
          if (o.Key) {
            found.push({ key: o.Key, modified: o.LastModified?.toISOString() ?? '' });
          }
        }
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token);
      return found;
    }
  };
}

/** A JSON object from an artifact or output parameter; anything else (truncated, not JSON) is no object. */
export function parseJsonObject(text: string): Record<string, unknown> | undefined {
  try {
    const value = JSON.parse(text) as unknown;
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}
