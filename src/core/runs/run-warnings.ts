/**
 * The one rule for adding to what a run (or a sweep) tells the user beside its result: appended in the
 * order they came, each said once (a store that keeps refusing is one warning, not one per step).
 */
export function addWarnings(record: { warnings?: string[] }, ...warnings: string[]): void {
  if (warnings.length > 0) {
    record.warnings = [...new Set([...(record.warnings ?? []), ...warnings])];
  }
}
