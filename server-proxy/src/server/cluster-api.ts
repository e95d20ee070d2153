/**
 * The cluster routes: what the server can reach with the user's connection (for the settings form), the
 * notebook's cluster YAML (what `cellpipe compile` writes), and uploading it to Kubeflow Pipelines as a
 * new version of its pipeline (created when missing).
 */
import type { CompileResult, UploadResult } from '../../../src/core/cluster-api';
import { CompileError } from '../../../src/core/targets/cluster-step';
import { defaultPipelineName } from '../../../src/core/tags/settings';
import { compileNotebook } from '../compile-notebook';
import { ClusterError } from '../engines/cluster/cluster-errors';
import { clusterReport } from '../engines/cluster/cluster-report';
import { kfpEndpoint } from '../engines/cluster/connection';
import { KfpClient } from '../engines/cluster/kfp-client';
import { uploadVersion, versionName } from '../engines/cluster/kfp-pipelines';
import { HttpError } from './http-json';
import { confinedNotebookPath } from './notebook-path';
import type { Router } from './router';
import type { RunService } from './run-service';
import { clusterAccess, requestNotebook } from './runs-api';

export function addClusterRoutes(router: Router, root: string, runs: RunService): void {
  const analysed = async (body: Record<string, unknown>) => {
    const path = confinedNotebookPath(root, body.notebook);
    const notebook = await requestNotebook(path, body.content, String(body.notebook));
    return { notebook, analysis: await runs.analyse(path, notebook) };
  };
  const compiled = (...args: Parameters<typeof compileNotebook>) => {
    try {
      return compileNotebook(...args);
    } catch (err) {
      if (err instanceof CompileError) {
        throw new HttpError(422, 'not-compiled', err.message);
      }
      throw err;
    }
  };

  router
    .add('GET', '/api/cluster', async ctx => {
      const access = clusterAccess({
        ...(ctx.query.get('context') ? { context: ctx.query.get('context') } : {}),
        ...(ctx.query.get('tokenFile') ? { tokenFile: ctx.query.get('tokenFile') } : {})
      });
      const body = await clusterReport(
        access ?? {},
        () => runs.clusterConnection(access),
        ctx.query.get('namespace') || undefined
      );
      return { status: 200, body };
    })
    .add('POST', '/api/compile', async ctx => {
      const body = ctx.body;
      const target = body.target;
      if (target !== 'kfp' && target !== 'argo') {
        throw new HttpError(400, 'invalid-request', '"target" is one of "kfp", "argo".');
      }
      const { notebook, analysis } = await analysed(body);
      const result: CompileResult = compiled(analysis, notebook, target);
      return { status: 200, body: result };
    })
    .add('POST', '/api/kfp/pipelines', async ctx => {
      const body = ctx.body;
      if (body.version !== undefined && typeof body.version !== 'string') {
        throw new HttpError(400, 'invalid-request', '"version" is the name of the new version.');
      }
      const { notebook, analysis } = await analysed(body);
      const { text, warnings, filename } = compiled(analysis, notebook, 'kfp');
      try {
        const connection = runs.clusterConnection(clusterAccess(body.connection));
        const namespace =
          analysis.pipeline.namespace || connection.namespace || connection.pod?.namespace || undefined;
        const client = new KfpClient(kfpEndpoint(connection, analysis), connection.kfpToken, namespace);
        const result = await uploadVersion(client, {
          name: defaultPipelineName(analysis.pipeline.name),
          description: analysis.pipeline.description,
          version: (body.version as string | undefined) || versionName(analysis.pipeline.name),
          file: { filename, text }
        });
        return { status: 201, body: { ...result, warnings } satisfies UploadResult };
      } catch (err) {
        if (err instanceof ClusterError) {
          throw new HttpError(err.httpStatus, err.code, err.message);
        }
        throw err;
      }
    });
}
