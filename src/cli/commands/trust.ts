// git rollback trust [--show | --revoke [sha]]: approve the config's exact
// content before git-rollback runs its commands or touches its databases.
import type { CommandModule } from 'yargs';
import { english, joined, msg, t } from '../../core/i18n.js';
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
  get describe() {
    return t('cmd.trust');
  },
  builder: (y) =>
    y
      .option('show', { type: 'boolean', describe: t('trust.opt.show') })
      .option('revoke', { type: 'string', describe: t('trust.opt.revoke') })
      .option('yes', { alias: 'y', type: 'boolean', describe: t('trust.opt.yes') })
      .option('json', { type: 'boolean', describe: t('opt.json') })
      .conflicts('show', 'revoke')
      .example('$0 trust', t('trust.ex.approve'))
      .example('$0 trust --show', t('trust.ex.show'))
      .example('$0 trust --revoke', t('trust.ex.revoke'))
      .example('GIT_ROLLBACK_TRUST=1 $0 to v0.8.1 --yes', t('trust.ex.ci')),
  handler: async (args) => {
    const { repo } = await Git.open(process.cwd());
    const store = new TrustStore(stateDir(repo));
    const source = await findConfigSource(repo.root, args.config);
    const approvals = await store.read();
    const current = source ? (approvals.find((a) => a.sha256 === source.sha256) ?? null) : null;
    const previous = source ? (approvals.filter((a) => a.file === source.file && a.sha256 !== source.sha256).sort((a, b) => b.approvedAt.localeCompare(a.approvedAt))[0] ?? null) : null;

    if (args.revoke !== undefined) {
      const prefix = typeof args.revoke === 'string' && args.revoke !== '' ? args.revoke : source?.sha256;
      if (!prefix) throw new UsageError(msg('trust.noConfigToRevoke'), msg('trust.noConfigToRevokeHint'));
      if (!/^[0-9a-f]{4,64}$/.test(prefix)) throw new UsageError(msg('trust.badPrefix', { prefix }));
      const gone = await store.revoke(prefix);
      if (gone.length === 0) throw new NotFoundError(msg('trust.noMatch', { prefix }), msg('trust.noMatchHint'));
      if (args.json) return printJSON({ revoked: gone.map(summary) });
      for (const a of gone) print(t('trust.revoked', { file: a.file, sha: a.sha256.slice(0, 12), at: when(a.approvedAt), by: sanitize(a.approvedBy) }));
      return;
    }

    const needed = !!source && (source.kind === 'code' || needsApproval(source.settings));
    const state = !source ? 'no config' : !needed ? 'nothing to approve' : current ? 'approved' : 'not approved';
    if (args.show) {
      if (args.json) {
        return printJSON({
          config: source ? { file: source.file, sha256: source.sha256, kind: source.kind, settings: source.settings } : null,
          state,
          changes: source && previous && !current ? describeChanges(previous.settings, source.settings).map(english) : [],
          approvals: approvals.map(summary),
        });
      }
      describe(source, state);
      print('');
      print(t(approvals.length ? 'trust.kept' : 'trust.noneKept'));
      for (const a of [...approvals].sort((x, y) => y.approvedAt.localeCompare(x.approvedAt))) {
        print(`  ${a.sha256.slice(0, 12)}  ${a.file}  ${when(a.approvedAt)}  ${sanitize(a.approvedBy)}  (${a.how})${source && a.sha256 === source.sha256 ? t('trust.current') : ''}`);
      }
      return;
    }
    if (!source) throw new NotFoundError(msg('trust.noConfig'), msg('trust.noConfigHint'));
    if (!needed) {
      if (args.json) return printJSON({ config: { file: source.file, sha256: source.sha256 }, state });
      return print(t('trust.nothingToApprove', { file: source.file }));
    }
    if (current) {
      if (args.json) return printJSON({ config: { file: source.file, sha256: source.sha256 }, state });
      return print(t('trust.already', { file: source.file, sha: source.sha256.slice(0, 12), at: when(current.approvedAt), how: current.how }));
    }
    if (!args.json) {
      describe(source, state);
      if (previous) {
        const changes = describeChanges(previous.settings, source.settings);
        print(t('trust.changedSince', { at: when(previous.approvedAt), changes: changes.length ? joined(changes) : msg('trust.onlyText') }));
      }
    }
    await confirmOrRefuse(msg('trust.confirm', { file: source.file }), args.yes, msg('what.approve'));
    const approval = await store.approve(source, args.yes ? 'yes' : 'prompt');
    if (args.json) return printJSON({ approved: summary(approval) });
    print(t('trust.approved', { file: source.file, sha: source.sha256.slice(0, 12) }));
  },
};

/** "2026-11-23 02:13" from an ISO time. */
const when = (iso: string) => iso.slice(0, 16).replace('T', ' ');

function summary(a: Approval): Omit<Approval, 'text'> {
  const { text: _text, ...rest } = a;
  return rest;
}

const STATES = { 'no config': 'trust.state.none', 'nothing to approve': 'trust.state.nothing', approved: 'trust.state.approved', 'not approved': 'trust.state.notApproved' } as const;

/** The config as the user approves it: its commands and databases, values as written (secrets masked). */
function describe(source: ConfigSource | null, state: string): void {
  if (!source) {
    print(t('trust.noFile'));
    return;
  }
  print(`${color.bold(source.file)}  sha256 ${source.sha256.slice(0, 12)}  ${t(STATES[state as keyof typeof STATES] ?? 'trust.state.notApproved')}`);
  if (source.kind === 'code') {
    print(t('trust.isCode'));
    for (const line of source.text.split('\n')) print(`  | ${sanitize(line)}`);
    return;
  }
  const entries = Object.entries(source.settings);
  if (entries.length === 0) return;
  print(t('trust.runs'));
  const w = Math.min(36, Math.max(...entries.map(([k]) => k.length)));
  for (const [k, v] of entries) print(`  ${sanitize(k).padEnd(w)}  ${sanitize(redact(v))}`);
}
