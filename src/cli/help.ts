// Help text, rendered by us rather than by yargs: wrapped at word boundaries
// (or between CJK characters) to the terminal, examples never split so they
// can be copied, CJK measured by display width, and in the user's language.
// The facts come from each command's own yargs builder, run against a recorder.
import type { CommandModule } from 'yargs';
import { t } from '../core/i18n.js';
import { hanging, pad, width, wrap } from './text.js';

export interface OptionInfo {
  name: string;
  aliases: string[];
  type?: string;
  describe?: string;
  choices?: readonly (string | number)[];
  default?: unknown;
  array?: boolean;
  hidden?: boolean;
}

export interface CommandInfo {
  /** "to [point]" */
  usage: string;
  name: string;
  aliases: string[];
  describe: string;
  positionals: OptionInfo[];
  options: OptionInfo[];
  examples: { command: string; describe: string }[];
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyCommand = CommandModule<any, any>;

/** Runs a command's builder against a recorder that keeps what it declares. */
export function commandInfo(c: AnyCommand): CommandInfo {
  const usage = String(Array.isArray(c.command) ? c.command[0] : c.command);
  const info: CommandInfo = {
    usage,
    name: usage.split(' ')[0] as string,
    aliases: ([] as string[]).concat(c.aliases ?? []),
    describe: typeof c.describe === 'string' ? c.describe : '',
    positionals: [],
    options: [],
    examples: [],
  };
  const add = (list: OptionInfo[], name: string, o: Record<string, unknown> = {}) =>
    list.push({
      name,
      aliases: ([] as string[]).concat((o.alias as string | string[] | undefined) ?? []),
      ...(o.type !== undefined ? { type: String(o.type) } : {}),
      ...(o.describe !== undefined ? { describe: String(o.describe) } : {}),
      ...(o.choices !== undefined ? { choices: o.choices as (string | number)[] } : {}),
      ...(o.default !== undefined ? { default: o.default } : {}),
      ...(o.array ? { array: true } : {}),
      ...(o.hidden ? { hidden: true } : {}),
    });
  const recorder: Record<string, unknown> = new Proxy(
    {},
    {
      get(_target, prop) {
        if (prop === 'positional') return (name: string, o: Record<string, unknown>) => (add(info.positionals, name, o), recorder);
        if (prop === 'option' || prop === 'options') return (name: string, o: Record<string, unknown>) => (add(info.options, name, o), recorder);
        if (prop === 'example') return (command: string, describe: string) => (info.examples.push({ command: command.replace(/^\$0/, 'git rollback'), describe }), recorder);
        if (prop === 'then') return undefined;
        return () => recorder;
      },
    },
  );
  if (typeof c.builder === 'function') (c.builder as (y: unknown) => unknown)(recorder);
  return info;
}

/** Help lines are at most this wide: the terminal, but never more than 100 (long lines are hard to read). */
export function helpWidth(columns: number | null): number {
  return Math.max(40, Math.min(100, columns ?? 80));
}

/** What an option's value is, shown in help as --config <file>. */
const VALUE_NAMES: Record<string, string> = {
  config: 'file',
  output: 'file',
  notes: 'file',
  reason: 'text',
  message: 'text',
  name: 'id',
  preid: 'id',
  at: 'commit',
  grep: 'regex',
  since: 'when',
  'keep-within': 'duration',
  only: 'parts',
  skip: 'parts',
};

function flagText(o: OptionInfo): string {
  const names = [...o.aliases.filter((a) => a.length === 1).map((a) => `-${a}`), `--${o.name}`, ...o.aliases.filter((a) => a.length > 1).map((a) => `--${a}`)];
  const named = VALUE_NAMES[o.name];
  const value = o.type === 'boolean' ? '' : o.choices ? ` <${o.choices.join('|')}>` : o.type === 'number' ? ' <n>' : named ? ` <${named}>` : o.type ? ` <${t('help.value')}>` : '';
  return names.join(', ') + value + (o.array ? ' …' : '');
}

/** Two columns (term, description): descriptions wrap within their column; a long term puts its description below it. */
function columns(rows: [string, string][], w: number, indent = 2, maxTerm = 24): string[] {
  // Terms longer than maxTerm get their description on the next line rather than pushing every description right.
  const termWidth = Math.max(0, ...rows.map(([term]) => width(term)).filter((x) => x <= maxTerm));
  const descAt = indent + termWidth + 2;
  const out: string[] = [];
  for (const [term, desc] of rows) {
    const lead = ' '.repeat(indent) + term;
    if (width(term) > termWidth) {
      out.push(lead);
      if (desc) out.push(' '.repeat(descAt) + hanging(desc, w, descAt));
    } else out.push((pad(lead, descAt) + hanging(desc, w, descAt)).trimEnd());
  }
  return out;
}

/**
 * Examples: the command on its own line, never wrapped (copy-paste gives the
 * right command), its description below, indented. Side by side when every
 * example and a readable description fit.
 */
function examples(list: CommandInfo['examples'], w: number): string[] {
  if (list.length === 0) return [];
  const out = [t('help.examples')];
  const longest = Math.max(...list.map((e) => width(e.command)));
  if (2 + longest + 2 + 24 <= w) return [...out, ...columns(list.map((e) => [e.command, e.describe] as [string, string]), w, 2, longest)];
  for (const e of list) {
    out.push(`  ${e.command}`);
    if (e.describe) out.push(`      ${hanging(e.describe, w, 6)}`);
  }
  return out;
}

export interface HelpContext {
  version: string;
  /** Where the installed package's docs are, for the closing line. */
  docsDir: string | null;
  width: number;
  globalOptions: OptionInfo[];
}

function footer(ctx: HelpContext): string[] {
  const lines = [t('help.more')];
  if (ctx.docsDir) lines.push(t('help.docs', { dir: ctx.docsDir }));
  return lines.flatMap((l) => wrap(l, ctx.width));
}

/** `git rollback`, `git rollback -h`: what the tool is, every command, the global options. */
export function renderOverview(commands: CommandInfo[], ctx: HelpContext): string {
  const w = ctx.width;
  const out: string[] = [];
  out.push(`git rollback <${t('help.command')}> [${t('help.options')}]`, '');
  out.push(...wrap(t('help.tagline'), w), '');
  out.push(t('help.commands'));
  out.push(...columns(commands.map((c) => [c.usage + (c.aliases.length ? ` (${c.aliases.join(', ')})` : ''), c.describe] as [string, string]), w, 2, 24));
  out.push('', t('help.globalOptions'));
  out.push(...columns(ctx.globalOptions.filter((o) => !o.hidden).map((o) => [flagText(o), o.describe ?? ''] as [string, string]), w));
  out.push('', ...examples(overviewExamples(), w), '');
  out.push(...wrap(t('help.pointNames'), w), '');
  out.push(...footer(ctx));
  return out.join('\n') + '\n';
}

function overviewExamples(): CommandInfo['examples'] {
  return [
    { command: 'git rollback point "AI服务集成完成"', describe: t('help.ex.point') },
    { command: 'git rollback list', describe: t('help.ex.list') },
    { command: 'git rollback to latest --dry-run', describe: t('help.ex.dryRun') },
    { command: 'git rollback to release/v0.8.1', describe: t('help.ex.to') },
    { command: 'git rollback undo', describe: t('help.ex.undo') },
  ];
}

/** `git rollback <command> -h`. */
export function renderCommandHelp(c: CommandInfo, ctx: HelpContext): string {
  const w = ctx.width;
  const out: string[] = [];
  const flags = c.options.some((o) => !o.hidden) ? ` [${t('help.options')}]` : '';
  out.push(`git rollback ${c.usage}${flags}`);
  if (c.aliases.length) out.push(t('help.aliases', { aliases: c.aliases.map((a) => `git rollback ${a}`).join(', ') }));
  out.push('', ...wrap(c.describe, w));
  if (c.positionals.length) {
    out.push('', t('help.arguments'));
    out.push(...columns(c.positionals.map((p) => [`<${p.name}>`, describeOption(p)] as [string, string]), w));
  }
  const visible = c.options.filter((o) => !o.hidden);
  if (visible.length) {
    out.push('', t('help.optionsTitle'));
    out.push(...columns(visible.map((o) => [flagText(o), describeOption(o)] as [string, string]), w));
  }
  out.push('', t('help.globalOptions'));
  out.push(...columns(ctx.globalOptions.filter((o) => !o.hidden).map((o) => [flagText(o), o.describe ?? ''] as [string, string]), w));
  if (c.examples.length) out.push('', ...examples(c.examples, w));
  out.push('', ...footer(ctx));
  return out.join('\n') + '\n';
}

function describeOption(o: OptionInfo): string {
  let d = o.describe ?? '';
  if (o.default !== undefined && o.type !== 'boolean') d += ` ${t('help.default', { value: JSON.stringify(o.default) })}`;
  return d;
}
