// Which PostgreSQL client program to run. On Debian and Ubuntu, /usr/bin/psql,
// pg_dump and pg_restore are all pg_wrapper, a Perl script that picks a
// version and then execs the real binary: 30–40 ms on every call, and a
// rollback makes a dozen psql calls (checks, create, load, attributes, swap).
// When the program found on PATH is that wrapper, the newest installed
// version's binary is run directly. That is the one pg_wrapper itself uses for
// a server it does not manage, and a newer pg_dump, psql or pg_restore works
// with an older server (pg_dump must be at least the server's version).
// Anything else on PATH (a PostgreSQL build, a container's client) is run as is.
import { accessSync, constants, readdirSync, realpathSync } from 'node:fs';
import { join } from 'node:path';

const WRAPPER = /\/postgresql-common\/pg_wrapper$/;
const cache = new Map<string, string>();

/** The path to run for `name` with this PATH; `name` itself when it is not on PATH (the caller's "not installed" error) or not the wrapper. */
export function pgProgram(name: string, path: string = process.env.PATH ?? '', libRoot = '/usr/lib/postgresql'): string {
  const key = `${name}\0${path}\0${libRoot}`;
  let found = cache.get(key);
  if (found === undefined) {
    found = resolve(name, path, libRoot);
    cache.set(key, found);
  }
  return found;
}

function resolve(name: string, path: string, libRoot: string): string {
  for (const dir of path.split(':').filter(Boolean)) {
    const candidate = join(dir, name);
    if (!executable(candidate)) continue;
    let real: string;
    try {
      real = realpathSync(candidate);
    } catch {
      return name;
    }
    if (!WRAPPER.test(real)) return name;
    let versions: string[];
    try {
      versions = readdirSync(libRoot).filter((v) => /^\d+(\.\d+)?$/.test(v));
    } catch {
      return name;
    }
    versions.sort((a, b) => Number(b) - Number(a));
    for (const version of versions) {
      const direct = join(libRoot, version, 'bin', name);
      if (executable(direct)) return direct;
    }
    return name;
  }
  return name;
}

function executable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}
