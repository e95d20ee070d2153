import { stat } from 'fs/promises';

/** Whether something is at `path` (a file or a folder); an unreadable path counts as absent. */
export async function fileExists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}
