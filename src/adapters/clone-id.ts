// This clone's id (.git/rollback/clone-id, random, made on first use). Events
// and backups carry it, so `undo` acts only on what happened in this clone —
// never on a colleague's rollback that a fetch merged into the log — and a
// fast undo only takes back database copies this clone parked.
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

const cache = new Map<string, Promise<string>>();

export function cloneId(stateDir: string): Promise<string> {
  let id = cache.get(stateDir);
  if (!id) {
    id = (async () => {
      const file = join(stateDir, 'clone-id');
      const existing = (await readFile(file, 'utf8').catch(() => '')).trim();
      if (/^[0-9a-f]{16}$/.test(existing)) return existing;
      await mkdir(stateDir, { recursive: true });
      const made = randomBytes(8).toString('hex');
      // wx: two processes racing keep the first id written.
      await writeFile(file, made + '\n', { flag: 'wx', mode: 0o644 }).catch(() => undefined);
      return (await readFile(file, 'utf8')).trim();
    })();
    cache.set(stateDir, id);
  }
  return id;
}
