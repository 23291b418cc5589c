// Which PostgreSQL client program runs: Debian's pg_wrapper is bypassed for
// the newest installed version's binary; anything else on PATH runs as is.
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { pgProgram } from '../../src/adapters/engines/pg-programs.js';

const root = mkdtempSync(join(tmpdir(), 'rb-pgprog-'));
after(() => rmSync(root, { recursive: true, force: true }));

function exe(file: string): string {
  mkdirSync(join(file, '..'), { recursive: true });
  writeFileSync(file, '#!/bin/sh\n');
  chmodSync(file, 0o755);
  return file;
}

describe('pgProgram', () => {
  const lib = join(root, 'lib');
  exe(join(lib, '13', 'bin', 'psql'));
  exe(join(lib, '15', 'bin', 'psql'));
  exe(join(lib, '13', 'bin', 'pg_restore'));
  const wrapper = exe(join(root, 'share', 'postgresql-common', 'pg_wrapper'));
  const debianBin = join(root, 'debian-bin');
  mkdirSync(debianBin);
  for (const name of ['psql', 'pg_dump', 'pg_restore']) symlinkSync(wrapper, join(debianBin, name));
  const ownBin = join(root, 'own-bin');
  exe(join(ownBin, 'psql'));

  it('runs the newest installed binary instead of pg_wrapper', () => {
    assert.equal(pgProgram('psql', `/nonexistent:${debianBin}`, lib), join(lib, '15', 'bin', 'psql'));
    assert.equal(pgProgram('pg_restore', debianBin, lib), join(lib, '13', 'bin', 'pg_restore'), 'the newest version that has it');
  });

  it('leaves the name when the wrapper has no binary behind it, the program is not the wrapper, or not on PATH', () => {
    assert.equal(pgProgram('pg_dump', debianBin, lib), 'pg_dump');
    assert.equal(pgProgram('psql', `${ownBin}:${debianBin}`, lib), 'psql', 'the first one on PATH wins, as the shell would');
    assert.equal(pgProgram('psql', join(root, 'empty'), lib), 'psql');
    assert.equal(pgProgram('psql', debianBin, join(root, 'no-lib')), 'psql');
  });
});
