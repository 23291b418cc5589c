// git rollback keygen [-o file]: a new age identity for encrypted snapshots,
// written outside the repository (mode 0600); prints its recipient.
import { mkdir, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import type { CommandModule } from 'yargs';
import { newIdentity } from '../../adapters/crypto.js';
import { ConflictError } from '../../core/errors.js';
import { msg, t } from '../../core/i18n.js';
import type { GlobalArgs } from '../common.js';
import { print, printJSON } from '../output.js';

interface Args extends GlobalArgs {
  output?: string;
}

export const keygenCommand: CommandModule<object, Args> = {
  command: 'keygen',
  get describe() {
    return t('cmd.keygen');
  },
  builder: (y) =>
    y
      .option('output', { alias: 'o', type: 'string', describe: t('keygen.opt.output') })
      .option('json', { type: 'boolean', describe: t('opt.json') })
      .example('$0 keygen', t('keygen.ex')),
  handler: async (args) => {
    const path = args.output ? (isAbsolute(args.output) ? args.output : resolve(args.output)) : join(homedir(), '.config', 'git-rollback', 'age.key');
    const { identity, recipient } = await newIdentity();
    await mkdir(dirname(path), { recursive: true, mode: 0o700 });
    try {
      await writeFile(path, `# git-rollback age identity, made ${new Date().toISOString()}\n# recipient: ${recipient}\n${identity}\n`, { mode: 0o600, flag: 'wx' });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') throw new ConflictError(msg('keygen.exists', { path }), msg('keygen.existsHint'));
      throw error;
    }
    if (args.json) return printJSON({ identityFile: path, recipient });
    print(t('keygen.wrote', { path }));
    print(t('keygen.recipient', { recipient }));
    print(t('keygen.addIt'));
    print(`  encryption: { recipients: ["${recipient}"], identity: "${args.output ? path : '~/.config/git-rollback/age.key'}" }`);
  },
};
