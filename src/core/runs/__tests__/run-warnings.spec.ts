import { addWarnings } from '../run-warnings';

describe('adding run warnings', () => {
  it('appends in order, says each once, and adds no empty list', () => {
    const record: { warnings?: string[] } = {};
    addWarnings(record);
    expect(record).toEqual({});
    addWarnings(record, 'The store refused the credentials.');
    addWarnings(record, 'The VolumeSnapshots s1 could not be deleted.', 'The store refused the credentials.');
    expect(record.warnings).toEqual([
      'The store refused the credentials.',
      'The VolumeSnapshots s1 could not be deleted.'
    ]);
  });
});
