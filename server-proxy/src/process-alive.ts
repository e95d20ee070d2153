/** Whether a process is alive (a run's owner): signal 0 checks without touching it. */
export function alive(pid: number | undefined): boolean {
  if (!pid) {
    return false;
  }
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
