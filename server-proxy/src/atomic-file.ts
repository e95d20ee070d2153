/** Files written so that a reader (or a crash) never sees half of one: temporary file, then rename. */
import { randomBytes } from 'crypto';
import { mkdir, rename, rm, writeFile } from 'fs/promises';
import { basename, dirname, join } from 'path';

export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = join(dirname(path), `.tmp-${basename(path)}-${randomBytes(4).toString('hex')}`);
  try {
    await writeFile(tmp, data);
    await rename(tmp, path);
  } catch (err) {
    // The first failure is the one to report (a folder made immutable meanwhile also refuses the cleanup).
    await rm(tmp, { force: true }).catch(() => undefined);
    throw err;
  }
}

export function writeJsonAtomic(path: string, value: unknown): Promise<void> {
  return writeFileAtomic(path, JSON.stringify(value, null, 1) + '\n');
}
