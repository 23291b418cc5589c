// git rollback keygen [-o file]: a new age identity for encrypted snapshots,
// written outside the repository (mode 0600); prints its recipient.
import { mkdir, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import type { CommandModule } from 'yargs';
import { newIdentity } from '../../adapters/crypto.js';
import { ConflictError } from '../../core/errors.js';
import type { GlobalArgs } from '../common.js';
import { print, printJSON } from '../output.js';

interface Args extends GlobalArgs {
  output?: string;
}

export const keygenCommand: CommandModule<object, Args> = {
  command: 'keygen',
  describe: 'Make an age identity for encrypted snapshots (written outside the repository, mode 0600) and print its recipient',
  builder: (y) =>
    y
      .option('output', { alias: 'o', type: 'string', describe: 'Where to write the identity (default ~/.config/git-rollback/age.key)' })
      .option('json', { type: 'boolean', describe: 'Print JSON' })
      .example('$0 keygen', 'then add the printed age1… recipient to encryption.recipients'),
  handler: async (args) => {
    const path = args.output ? (isAbsolute(args.output) ? args.output : resolve(args.output)) : join(homedir(), '.config', 'git-rollback', 'age.key');
    const { identity, recipient } = await newIdentity();
    await mkdir(dirname(path), { recursive: true, mode: 0o700 });
    try {
      await writeFile(path, `# git-rollback age identity, made ${new Date().toISOString()}\n# recipient: ${recipient}\n${identity}\n`, { mode: 0o600, flag: 'wx' });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') throw new ConflictError(`${path} already exists`, 'keep it (add more keys to it by hand), or choose another file with -o');
      throw error;
    }
    if (args.json) return printJSON({ identityFile: path, recipient });
    print(`Wrote the identity to ${path} (mode 0600; keep it secret and backed up: without it, encrypted snapshots cannot be restored).`);
    print(`Recipient: ${recipient}`);
    print('Add it to the config, then approve the config (git rollback trust):');
    print(`  encryption: { recipients: ["${recipient}"], identity: "${args.output ? path : '~/.config/git-rollback/age.key'}" }`);
  },
};
