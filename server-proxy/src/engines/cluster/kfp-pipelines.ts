/**
 * A notebook's pipeline in Kubeflow Pipelines: uploaded as a new version of its pipeline (created when KFP
 * has none of that name), for the sidebar's upload and for a schedule's recurring run, which runs a version.
 */
import type { UploadResult } from '../../../../src/core/cluster-api';
import { defaultPipelineName } from '../../../../src/core/tags/settings';
import type { KfpClient } from './kfp-client';

/** A new version of the pipeline `name`: the pipeline is created with it when KFP has none of that name. */
export async function uploadVersion(
  client: KfpClient,
  upload: { name: string; description: string; version: string; file: { filename: string; text: string } }
): Promise<Omit<UploadResult, 'warnings'>> {
  const existing = await client.pipelineByName(upload.name);
  if (existing) {
    const version = await client.uploadPipelineVersion(upload.file, existing.pipeline_id, upload.version);
    return {
      pipelineId: existing.pipeline_id,
      pipelineName: existing.display_name ?? upload.name,
      versionId: version.pipeline_version_id,
      versionName: version.display_name ?? upload.version,
      created: false,
      url: client.versionUrl(existing.pipeline_id, version.pipeline_version_id)
    };
  }
  // Uploading a new pipeline makes its first version under the pipeline's own name; KFP answers with
  // the pipeline only, so the version is read back.
  const created = await client.uploadPipeline(upload.file, upload.name, upload.description);
  const first = await client.latestVersion(created.pipeline_id);
  return {
    pipelineId: created.pipeline_id,
    pipelineName: created.display_name ?? upload.name,
    versionId: first?.pipeline_version_id ?? '',
    versionName: first?.display_name ?? upload.name,
    created: true,
    url: first
      ? client.versionUrl(created.pipeline_id, first.pipeline_version_id)
      : client.versionUrl(created.pipeline_id, '')
  };
}

/** `NAME-YYYYMMDD-HHMMSS` (UTC): versions sort by when they were uploaded. */
export function versionName(pipeline: string, now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return `${defaultPipelineName(pipeline)}-${stamp}`;
}
