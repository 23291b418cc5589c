// git-rollback's entry: picks the language, prints help itself (wrapped, in
// the user's language), parses arguments with yargs, runs one command, and
// turns errors into a one-line message, a hint and a documented exit code.
import { dirname, join } from 'node:path';
import { existsSync, statfsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import yargs, { type Argv } from 'yargs';
import { hideBin } from 'yargs/helpers';
import { ExitCode, RollbackError, UsageError, outcomeOf, redact } from './core/errors.js';
import { detectLang, localize, parseLang, setLang, t } from './core/i18n.js';
import { commands } from './cli/commands/index.js';
import { setLangFromFlag } from './cli/common.js';
import { commandInfo, helpWidth, renderCommandHelp, renderOverview, type OptionInfo } from './cli/help.js';
import { setQuiet } from './cli/output.js';
import { terminalWidth } from './cli/text.js';
import { yargsLocale } from './cli/yargs-locale.js';
import { sanitize } from './core/text.js';

declare const __VERSION__: string;
const VERSION = typeof __VERSION__ === 'string' ? __VERSION__ : '0.0.0-dev';

function globalOptions(): (OptionInfo & { global: true })[] {
  return [
    { name: 'config', aliases: [], type: 'string', describe: t('global.config'), global: true },
    { name: 'lang', aliases: [], type: 'string', choices: ['en', 'zh-CN'], describe: t('global.lang'), global: true },
    { name: 'quiet', aliases: ['q'], type: 'boolean', describe: t('global.quiet'), global: true },
    { name: 'verbose', aliases: [], type: 'boolean', describe: t('global.verbose'), global: true },
    { name: 'trust', aliases: [], type: 'boolean', describe: t('global.trust'), global: true },
    { name: 'version', aliases: ['V'], type: 'boolean', describe: t('global.version'), global: true },
    { name: 'help', aliases: ['h'], type: 'boolean', describe: t('global.help'), global: true },
  ];
}

/** What main needs before yargs runs: --lang, -q, and whether help was asked for (and for which command). */
function prescan(argv: string[]): { lang: string | null; quiet: boolean; help: boolean; words: string[] } {
  let lang: string | null = null;
  let quiet = false;
  let help = false;
  const words: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (a === '--') break;
    if (a === '--lang') lang = argv[++i] ?? null;
    else if (a.startsWith('--lang=')) lang = a.slice(7);
    else if (a === '-q' || a === '--quiet') quiet = true;
    else if (a === '-h' || a === '--help') help = true;
    else if (!a.startsWith('-')) words.push(a);
  }
  return { lang, quiet, help, words };
}

/** The installed package's docs folder, named in help (meaningful after a global install). */
function docsDir(): string | null {
  try {
    const dir = join(dirname(fileURLToPath(import.meta.url)), '..', 'docs');
    return existsSync(dir) ? dir : null;
  } catch {
    return null;
  }
}

export async function main(argv: string[]): Promise<number> {
  // `git rollback list | head` closes stdout early. Ignore that and carry on:
  // exiting here could cut a rollback short half-way.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
  });
  const pre = prescan(argv);
  if (pre.lang !== null && !parseLang(pre.lang)) {
    process.stderr.write(`git-rollback: --lang ${pre.lang}: expected en or zh-CN\n`);
    return ExitCode.usage;
  }
  setLang(detectLang(process.env, pre.lang));
  setLangFromFlag(pre.lang !== null);
  setQuiet(pre.quiet);
  let verbose = argv.includes('--verbose') || process.env.ROLLBACK_DEBUG === '1';

  const all = commands();
  const onlyGlobals = argv.every((a) => ['-q', '--quiet', '--verbose'].includes(a) || a.startsWith('--lang') || a === pre.lang);
  // `git rollback help [command]` reads as -h.
  const helpWord = pre.words[0] === 'help';
  if (pre.help || helpWord || argv.length === 0 || onlyGlobals) {
    const ctx = { version: VERSION, docsDir: docsDir(), width: helpWidth(terminalWidth()), globalOptions: globalOptions() };
    const name = pre.words[helpWord ? 1 : 0];
    const chosen = name ? all.find((c) => commandInfo(c).name === name || ([] as string[]).concat(c.aliases ?? []).includes(name)) : undefined;
    process.stdout.write(chosen ? renderCommandHelp(commandInfo(chosen), ctx) : renderOverview(all.filter((c) => c.describe !== false).map(commandInfo), ctx));
    return 0;
  }

  const parser: Argv = yargs(argv)
    .scriptName('git rollback')
    .locale('en')
    .updateLocale(yargsLocale() as Record<string, string>)
    .version(VERSION)
    .alias('version', 'V')
    .help(false)
    .strict()
    .demandCommand(1, t('main.nameCommand'))
    .recommendCommands()
    .fail((message, err) => {
      if (err) throw err;
      // yargs messages can span lines ("Invalid values:\n  Argument: …"): keep one line.
      throw new UsageError((message ?? 'invalid arguments').replace(/:?\s*\n\s*/g, ': ').trim(), { key: 'main.usageHint' });
    });
  for (const o of globalOptions()) {
    if (o.name === 'version' || o.name === 'help') continue;
    parser.option(o.name, { type: o.type as 'string' | 'boolean', describe: o.describe ?? '', global: true, ...(o.aliases.length ? { alias: o.aliases } : {}), ...(o.choices ? { choices: o.choices } : {}) });
  }
  for (const c of all) parser.command(c);
  try {
    await parser.parseAsync();
    return Number(process.exitCode ?? 0);
  } catch (error) {
    verbose ||= process.env.ROLLBACK_DEBUG === '1';
    return reportError(error, verbose);
  }
}

/** The error's message in the user's language; what the command left as it was ("— no point was made") after its first line. */
function messageOf(error: unknown): string {
  const text = error instanceof RollbackError ? error.localMessage() : String((error as Error)?.message ?? error);
  const outcome = outcomeOf(error);
  if (!outcome) return text;
  const [first = '', ...rest] = text.split('\n');
  return [t('error.withOutcome', { error: first, outcome: localize(outcome) }), ...rest].join('\n');
}

function reportError(error: unknown, verbose: boolean): number {
  const out = process.stderr;
  const prefix = t('error.prefix');
  const code = (error as { code?: string } | undefined)?.code;
  // git reports a full disk in many words ("couldn't write …lock", "unable to
  // write loose object"): when a command fails, the free space tells.
  if (code === 'ENOSPC' || code === 'EDQUOT' || /No space left on device|Disk quota exceeded/i.test((error as Error)?.message ?? '') || (!(error instanceof UsageError) && diskNearlyFull())) {
    const path = (error as { path?: string }).path;
    out.write(`${prefix}${sanitize(t('error.diskFull', { path: path ? ` (${path})` : '', detail: redact(messageOf(error).split('\n')[0] ?? '') }))}\n`);
    const hint = error instanceof RollbackError ? error.localHint() : null;
    out.write(`${t('error.hint')}${hint ? `${redact(hint)}; ` : ''}${t('error.diskFullHint')}\n`);
    return error instanceof RollbackError ? error.exitCode : ExitCode.error;
  }
  if (error instanceof RollbackError) {
    out.write(`${prefix}${sanitize(redact(messageOf(error)))}\n`);
    const hint = error.localHint();
    if (hint) out.write(`${t('error.hint')}${sanitize(redact(hint))}\n`);
    if (verbose && error.stack) out.write(redact(error.stack) + '\n');
    return error.exitCode;
  }
  const e = error as Error;
  out.write(`${prefix}${sanitize(redact(messageOf(error)))}\n`);
  if (verbose && e?.stack) out.write(redact(e.stack) + '\n');
  else out.write(`${t('error.hint')}${t('error.unexpectedHint')}\n`);
  return ExitCode.error;
}

const code = await main(hideBin(process.argv));
process.exitCode = code;

/** Whether the filesystem of the current directory has less than 1 MiB left for this user. */
function diskNearlyFull(): boolean {
  try {
    const st = statfsSync(process.cwd());
    return st.bavail * st.bsize < 1024 * 1024;
  } catch {
    return false;
  }
}
