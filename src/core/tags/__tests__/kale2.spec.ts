/**
 * Kale 2.x's tags (`image:`, `cache:`, `report:`, `secret:`, `notebook:`) and the same keys in
 * `steps_defaults`: read into roles and settings, printed back unchanged, and wrong values reported at
 * their cell as other tags are.
 */
import type { NotebookData } from '../../notebook/model';
import { CellRole, isPipelineTag, parseCellTags, printCellTags, roleTags } from '../grammar';
import { readPipelineSettings, resolveStepSettings } from '../settings';

const parse = (...tags: string[]) => parseCellTags(tags, 2);
const codes = (...tags: string[]) => parse(...tags).diagnostics.map(d => `${d.severity}:${d.code}@${d.cell}`);

describe('Kale 2.x step tags', () => {
  it('reads image:, cache:, report: and secret: into the step role', () => {
    expect(
      parse(
        'step:train',
        'image:ghcr.io/org/trainer:1.2@sha256:abc',
        'cache:disabled',
        'report:enabled',
        'secret:db-credentials:password:DB_PASSWORD',
        'secret:s3:key.id:AWS_ACCESS_KEY_ID'
      )
    ).toEqual({
      role: {
        kind: 'step',
        name: 'train',
        prev: [],
        limits: {},
        annotations: {},
        labels: {},
        image: 'ghcr.io/org/trainer:1.2@sha256:abc',
        cache: false,
        report: true,
        secrets: [
          { secret: 'db-credentials', key: 'password', env: 'DB_PASSWORD' },
          { secret: 's3', key: 'key.id', env: 'AWS_ACCESS_KEY_ID' }
        ]
      },
      diagnostics: []
    });
  });

  it('reads notebook: (named, or named after its file later) with prev:', () => {
    expect(parse('notebook:prepare', 'prev:load').role).toEqual({
      kind: 'notebook',
      name: 'prepare',
      prev: ['load']
    });
    expect(parse('notebook:').role).toEqual({ kind: 'notebook', name: '', prev: [] });
  });

  it.each([
    [['step:a', 'cache:maybe'], 'error:invalid-tag@2'],
    [['step:a', 'report:on'], 'error:invalid-tag@2'],
    [['step:a', 'image:'], 'error:invalid-tag@2'],
    [['step:a', 'image:has space'], 'error:invalid-tag@2'],
    [['step:a', 'secret:db:password'], 'error:invalid-tag@2'],
    [['step:a', 'secret:DB:password:PW'], 'error:invalid-tag@2'],
    [['step:a', 'secret:db:pass word:PW'], 'error:invalid-tag@2'],
    [['step:a', 'secret:db:password:1PW'], 'error:invalid-tag@2'],
    [['step:a', 'cache:enabled', 'cache:disabled'], 'error:conflicting-tags@2'],
    [['step:a', 'secret:a:k:PW', 'secret:b:k:PW'], 'error:conflicting-tags@2'],
    [['cache:disabled'], 'error:prev-without-step@2'],
    [['notebook:Bad'], 'error:invalid-step-name@2'],
    [['notebook:a', 'step:b'], 'error:conflicting-tags@2'],
    [['notebook:a', 'notebook:b'], 'error:two-step-names@2'],
    [['notebook:a', 'image:x'], 'warning:ignored-tags@2'],
    [['skip', 'notebook:a'], 'warning:ignored-tags@2']
  ])('reports %j as %s, at the cell', (tags, code) => {
    expect(codes(...tags)).toContain(code);
  });

  it('takes a repeated tag once', () => {
    expect(
      parse('step:a', 'secret:s:k:E', 'secret:s:k:E', 'cache:enabled', 'cache:enabled').diagnostics
    ).toEqual([]);
  });

  it('counts the new prefixes as pipeline tags, and keeps the user tags that only look alike', () => {
    for (const tag of ['image:x', 'cache:enabled', 'report:disabled', 'secret:a:b:C', 'notebook:n']) {
      expect(isPipelineTag(tag)).toBe(true);
    }
    expect(isPipelineTag('imagery')).toBe(false);
    expect(isPipelineTag('notebooks')).toBe(false);
  });
});

describe('printing Kale 2.x tags', () => {
  const kale2 = [
    'step:train',
    'prev:load',
    'limit:nvidia.com/gpu:1',
    'label:team:ml',
    'image:python:3.12-slim',
    'cache:disabled',
    'report:disabled',
    'secret:db:password:DB_PASSWORD'
  ];

  it('round-trips every tag of a Kale 2.x step through an edit, keeping the user tags in place', () => {
    const existing = ['todo', ...kale2, 'reviewed'];
    const { role } = parseCellTags(existing, 0);
    // The sidebar renames the step: every other tag stays, and stays where it was.
    const renamed = printCellTags(existing, {
      ...(role as Extract<CellRole, { kind: 'step' }>),
      name: 'fit'
    });
    expect(renamed).toEqual(['todo', 'step:fit', ...kale2.slice(1), 'reviewed']);
    expect(parseCellTags(renamed, 0)).toEqual({ role: { ...role, name: 'fit' }, diagnostics: [] });
  });

  it.each<CellRole>([
    { kind: 'notebook', name: 'prepare', prev: ['load'] },
    { kind: 'notebook', name: '', prev: [] },
    {
      kind: 'step',
      name: 's',
      prev: [],
      limits: {},
      annotations: {},
      labels: {},
      image: 'img',
      cache: true,
      report: false,
      secrets: [{ secret: 'a', key: 'b', env: 'C' }]
    }
  ])('round-trips %j', role => {
    expect(parseCellTags(printCellTags(['keep-me'], role), 0)).toEqual({ role, diagnostics: [] });
  });

  it('turns a notebook cell back into a step, dropping notebook: and nothing else of the user', () => {
    expect(
      printCellTags(['mine', 'notebook:prep', 'prev:a'], {
        kind: 'step',
        name: 'prep',
        prev: ['a'],
        limits: {},
        annotations: {},
        labels: {}
      })
    ).toEqual(['mine', 'step:prep', 'prev:a']);
    expect(roleTags({ kind: 'notebook', name: 'n', prev: [] })).toEqual(['notebook:n']);
  });
});

describe('Kale 2.x settings', () => {
  const nb = (metadata: Record<string, unknown>): NotebookData => ({ cells: [], metadata });

  it('turns the tags into step settings: image, caching, report, secrets', () => {
    const { settings } = readPipelineSettings(nb({}));
    const roles = new Map([
      [0, parseCellTags(['step:a', 'image:img:1', 'cache:disabled', 'secret:s:k:E'], 0).role],
      [1, parseCellTags(['step:a', 'report:disabled', 'secret:t:k2:F'], 1).role]
    ]);
    expect(resolveStepSettings(settings, 'a', roles, [0, 1]).settings).toEqual({
      image: 'img:1',
      caching: false,
      report: false,
      secrets: [
        { secret: 's', key: 'k', env: 'E' },
        { secret: 't', key: 'k2', env: 'F' }
      ]
    });
  });

  it('reads the same keys in steps_defaults, below the tags and the cellpipe settings', () => {
    const { settings, diagnostics } = readPipelineSettings(
      nb({
        kubeflow_notebook: {
          pipeline_name: 'k',
          steps_defaults: [
            'image:base:1',
            'cache:disabled',
            'report:disabled',
            'secret:s:k:E',
            'label:team:ml'
          ]
        }
      })
    );
    expect(diagnostics).toEqual([]);
    const roles = new Map([[0, parseCellTags(['step:a', 'cache:enabled', 'secret:other:k:E'], 0).role]]);
    expect(resolveStepSettings(settings, 'a', roles, [0]).settings).toEqual({
      image: 'base:1',
      caching: true,
      report: false,
      labels: { team: 'ml' },
      // one variable, one secret: the step's tag wins over the default
      secrets: [{ secret: 'other', key: 'k', env: 'E' }]
    });
  });

  it("keeps reading Kale's steps_defaults once cellpipe wrote its own metadata beside Kale's", () => {
    const { settings } = readPipelineSettings(
      nb({
        cellpipe: { name: 'mine', steps: { a: { image: 'own:2' } } },
        kubeflow_notebook: { pipeline_name: 'k', steps_defaults: ['image:base:1', 'label:team:ml'] }
      })
    );
    expect(settings.source).toBe('cellpipe');
    expect(resolveStepSettings(settings, 'a', new Map(), []).settings).toEqual({
      image: 'own:2',
      labels: { team: 'ml' }
    });
  });

  it('reports wrong steps_defaults as notebook diagnostics that say where they are', () => {
    const { diagnostics } = readPipelineSettings(
      nb({ kubeflow_notebook: { steps_defaults: ['cache:sometimes', 'prev:a', 42, 'skip'] } })
    );
    expect(diagnostics.map(d => `${d.severity}:${d.code}@${d.cell}`)).toEqual([
      'warning:ignored-tags@null',
      'error:invalid-setting@null',
      'warning:ignored-tags@null',
      'error:invalid-tag@null'
    ]);
    expect(diagnostics.every(d => d.message.startsWith('Kale steps_defaults: '))).toBe(true);
    expect(diagnostics[3].message).toContain('cache:sometimes');
  });
});
