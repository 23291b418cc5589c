// git rollback trust [--show | --revoke [sha]]: approve the config's exact
// content before git-rollback runs its commands or touches its databases.
import type { CommandModule } from 'yargs';
import { msg } from '../../core/i18n.js';
import { Git } from '../../adapters/git.js';
import { stateDir } from '../../adapters/snapshot.js';
import { findConfigSource, TrustStore, type Approval, type ConfigSource } from '../../app/trust.js';
import { NotFoundError, redact, UsageError } from '../../core/errors.js';
import { sanitize } from '../../core/text.js';
import { describeChanges, needsApproval } from '../../core/trust.js';
import { confirmOrRefuse, type GlobalArgs } from '../common.js';
import { color, print, printJSON } from '../output.js';

interface Args extends GlobalArgs {
  show?: boolean;
  revoke?: string | boolean;
  yes?: boolean;
}

export const trustCommand: CommandModule<object, Args> = {
  command: 'trust',
  describe: 'Approve the config: show the commands it runs and the databases it names, then remember its exact content (like direnv allow)',
  builder: (y) =>
    y
      .option('show', { type: 'boolean', describe: 'Show the config, whether it is approved, and every approval kept; change nothing' })
      .option('revoke', { type: 'string', describe: 'Forget an approval: of the current config, or of the one whose sha256 starts with this' })
      .option('yes', { alias: 'y', type: 'boolean', describe: 'Approve without asking (needed without a terminal)' })
      .option('json', { type: 'boolean', describe: 'Print JSON' })
      .conflicts('show', 'revoke')
      .example('$0 trust', 'review the config and approve it')
      .example('$0 trust --show', 'what is approved')
      .example('$0 trust --revoke', 'stop trusting the current config')
      .example('GIT_ROLLBACK_TRUST=1 $0 to v0.8.1 --yes', 'CI: approve the config as checked out, for this run and after'),
  handler: async (args) => {
    const { repo } = await Git.open(process.cwd());
    const store = new TrustStore(stateDir(repo));
    const source = await findConfigSource(repo.root, args.config);
    const approvals = await store.read();
    const current = source ? (approvals.find((a) => a.sha256 === source.sha256) ?? null) : null;
    const previous = source ? (approvals.filter((a) => a.file === source.file && a.sha256 !== source.sha256).sort((a, b) => b.approvedAt.localeCompare(a.approvedAt))[0] ?? null) : null;

    if (args.revoke !== undefined) {
      const prefix = typeof args.revoke === 'string' && args.revoke !== '' ? args.revoke : source?.sha256;
      if (!prefix) throw new UsageError('there is no config to revoke', 'name the approval: git rollback trust --revoke <sha256 prefix> (see git rollback trust --show)');
      if (!/^[0-9a-f]{4,64}$/.test(prefix)) throw new UsageError(`--revoke ${prefix}: expected a sha256 prefix (4+ hex digits)`);
      const gone = await store.revoke(prefix);
      if (gone.length === 0) throw new NotFoundError(`no approval matches ${prefix}`, 'git rollback trust --show lists them');
      if (args.json) return printJSON({ revoked: gone.map(summary) });
      for (const a of gone) print(`Revoked the approval of ${a.file} (sha256 ${a.sha256.slice(0, 12)}, approved ${a.approvedAt.slice(0, 16).replace('T', ' ')} by ${sanitize(a.approvedBy)}).`);
      return;
    }

    const needed = !!source && (source.kind === 'code' || needsApproval(source.settings));
    const state = !source ? 'no config' : !needed ? 'nothing to approve' : current ? 'approved' : 'not approved';
    if (args.show) {
      if (args.json) {
        return printJSON({
          config: source ? { file: source.file, sha256: source.sha256, kind: source.kind, settings: source.settings } : null,
          state,
          changes: source && previous && !current ? describeChanges(previous.settings, source.settings) : [],
          approvals: approvals.map(summary),
        });
      }
      describe(source, state);
      print('');
      print(approvals.length ? 'Approvals kept in this clone (.git/rollback/trust.json):' : 'No approvals in this clone yet.');
      for (const a of [...approvals].sort((x, y) => y.approvedAt.localeCompare(x.approvedAt))) {
        print(`  ${a.sha256.slice(0, 12)}  ${a.file}  ${a.approvedAt.slice(0, 16).replace('T', ' ')}  ${sanitize(a.approvedBy)}  (${a.how})${source && a.sha256 === source.sha256 ? '  ← current' : ''}`);
      }
      return;
    }
    if (!source) throw new NotFoundError('there is no config to approve', 'write one: git rollback init');
    if (!needed) {
      if (args.json) return printJSON({ config: { file: source.file, sha256: source.sha256 }, state });
      return print(`${source.file} runs no command and names no database: there is nothing to approve.`);
    }
    if (current) {
      if (args.json) return printJSON({ config: { file: source.file, sha256: source.sha256 }, state });
      return print(`${source.file} (sha256 ${source.sha256.slice(0, 12)}) is already approved (${current.approvedAt.slice(0, 16).replace('T', ' ')}, ${current.how}).`);
    }
    if (!args.json) {
      describe(source, state);
      if (previous) {
        const changes = describeChanges(previous.settings, source.settings);
        print(`Changed since the version approved ${previous.approvedAt.slice(0, 16).replace('T', ' ')}: ${changes.length ? changes.join(', ') : 'no command or database setting (only other text)'}`);
      }
    }
    await confirmOrRefuse(`Approve this exact content of ${source.file}?`, args.yes, msg('what.approve'));
    const approval = await store.approve(source, args.yes ? 'yes' : 'prompt');
    if (args.json) return printJSON({ approved: summary(approval) });
    print(`Approved ${source.file} (sha256 ${source.sha256.slice(0, 12)}). A change to it (a checkout, a pull) will need approving again.`);
  },
};

function summary(a: Approval): Omit<Approval, 'text'> {
  const { text: _text, ...rest } = a;
  return rest;
}

/** The config as the user approves it: its commands and databases, values as written (secrets masked). */
function describe(source: ConfigSource | null, state: string): void {
  if (!source) {
    print('No config file (git rollback init writes one).');
    return;
  }
  print(`${color.bold(source.file)}  sha256 ${source.sha256.slice(0, 12)}  ${state}`);
  if (source.kind === 'code') {
    print('It is JavaScript: it runs when loaded. Its whole text:');
    for (const line of source.text.split('\n')) print(`  | ${sanitize(line)}`);
    return;
  }
  const entries = Object.entries(source.settings);
  if (entries.length === 0) return;
  print('It runs these commands and acts on these databases:');
  const w = Math.min(36, Math.max(...entries.map(([k]) => k.length)));
  for (const [k, v] of entries) print(`  ${sanitize(k).padEnd(w)}  ${sanitize(redact(v))}`);
}
