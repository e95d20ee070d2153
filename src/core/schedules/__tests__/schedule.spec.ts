import {
  cronFields,
  defaultScheduleName,
  kfpCron,
  nextRunTimes,
  scheduleNameProblem,
  scheduleProblem
} from '../schedule';

describe('schedules', () => {
  it('reads five fields or a descriptor, and says which field is wrong', () => {
    expect(cronFields('0 6 * * *')).toEqual({ fields: ['0', '6', '*', '*', '*'] });
    expect(cronFields('@hourly')).toEqual({ fields: ['0', '*', '*', '*', '*'] });
    expect(scheduleProblem({ cron: '0 6 * *' })).toMatch(/has 4 fields; a schedule has five/);
    expect(scheduleProblem({ cron: '0 0 6 * * *' })).toMatch(/has 6 fields/);
    expect(scheduleProblem({ cron: '0 25 * * *' })).toMatch(/its hour field/);
    expect(scheduleProblem({ cron: '0 6 * * 7' })).toMatch(/day of week is 0-6/);
    expect(scheduleProblem({ cron: '@often' })).toMatch(/not a cron descriptor/);
    expect(scheduleProblem({ cron: '0 6 * * *', timezone: 'Mars/Olympus' })).toMatch(/not a time zone/);
    expect(scheduleProblem({ cron: '*/15 6-18 * * 1-5', timezone: 'Europe/Berlin' })).toBeNull();
  });

  it('gives the next run times in the time zone, across a DST change', () => {
    // 06:00 in Berlin is 05:00 UTC in winter, 04:00 UTC in summer (DST began 2026-03-29).
    const next = nextRunTimes(
      { cron: '0 6 * * *', timezone: 'Europe/Berlin' },
      new Date('2026-03-28T12:00:00Z'),
      2
    );
    expect(next).toEqual(['2026-03-29T04:00:00.000Z', '2026-03-30T04:00:00.000Z']);
    expect(nextRunTimes({ cron: '0 6 * * *' }, new Date('2026-03-28T12:00:00Z'))).toEqual([
      '2026-03-29T06:00:00.000Z'
    ]);
  });

  it('writes KFP cron with its seconds field', () => {
    expect(kfpCron('0 6 * * 1-5')).toBe('0 0 6 * * 1-5');
    expect(kfpCron('@weekly')).toBe('0 0 0 * * 0');
  });

  it('names a schedule as a DNS label short enough for Argo to name its runs', () => {
    expect(defaultScheduleName('Sales Report_v2')).toBe('sales-report-v2');
    expect(scheduleNameProblem('ok-name')).toBeNull();
    expect(scheduleNameProblem('Bad_Name')).toMatch(/not a schedule name/);
    expect(scheduleNameProblem('a'.repeat(53))).toMatch(/at most 52/);
  });
});
