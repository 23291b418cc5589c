// git-rollback's entry: parses arguments with yargs, runs one command, and turns
// errors into a one-line message, a hint and a documented exit code.
import yargs, { type Argv } from 'yargs';
import { hideBin } from 'yargs/helpers';
import { ExitCode, RollbackError, UsageError, redact } from './core/errors.js';
import { commands } from './cli/commands/index.js';

declare const __VERSION__: string;

export async function main(argv: string[]): Promise<number> {
  // `git rollback list | head` closes stdout early. Ignore that and carry on:
  // exiting here could cut a rollback short half-way.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
  });
  let verbose = argv.includes('--verbose');
  const parser: Argv = yargs(argv)
    .scriptName('git rollback')
    .usage('$0 <command> [options]\n\nRoll code, config files and databases back together — and undo it.')
    .option('config', { type: 'string', describe: 'Use this config file instead of searching the repository root', global: true })
    .option('verbose', { type: 'boolean', describe: 'Show stack traces and git commands on errors', global: true })
    .version(typeof __VERSION__ === 'string' ? __VERSION__ : '0.0.0-dev')
    .alias('version', 'V')
    .help('help')
    .alias('help', 'h')
    .strict()
    .demandCommand(1, 'Name a command: git rollback --help lists them')
    .recommendCommands()
    .wrap(Math.min(110, process.stdout.columns || 100))
    .epilogue('Docs: docs/commands.md · Exit codes: docs/exit-codes.md')
    .fail((msg, err) => {
      if (err) throw err;
      // yargs messages can span lines ("Invalid values:\n  Argument: …"): keep one line.
      throw new UsageError((msg ?? 'invalid arguments').replace(/:?\s*\n\s*/g, ': ').trim(), 'see: git rollback <command> --help');
    });
  for (const c of commands) parser.command(c);
  try {
    await parser.parseAsync();
    return Number(process.exitCode ?? 0);
  } catch (error) {
    verbose ||= process.env.ROLLBACK_DEBUG === '1';
    return reportError(error, verbose);
  }
}

function reportError(error: unknown, verbose: boolean): number {
  const out = process.stderr;
  const code = (error as { code?: string } | undefined)?.code;
  if (code === 'ENOSPC' || code === 'EDQUOT' || /No space left on device|Disk quota exceeded/i.test((error as Error)?.message ?? '')) {
    const path = (error as { path?: string }).path;
    out.write(`git-rollback: the disk is full${path ? ` (writing ${path})` : ''}: ${redact((error as Error).message.split('\n')[0] ?? '')}\n`);
    out.write(`hint: ${error instanceof RollbackError && error.hint ? `${redact(error.hint)}; ` : ''}free space on that disk (df -h .), then run the command again\n`);
    return error instanceof RollbackError ? error.exitCode : ExitCode.error;
  }
  if (error instanceof RollbackError) {
    out.write(`git-rollback: ${redact(error.message)}\n`);
    if (error.hint) out.write(`hint: ${redact(error.hint)}\n`);
    if (verbose && error.stack) out.write(redact(error.stack) + '\n');
    return error.exitCode;
  }
  const e = error as Error;
  out.write(`git-rollback: ${redact(e?.message ?? String(error))}\n`);
  if (verbose && e?.stack) out.write(redact(e.stack) + '\n');
  else out.write('hint: run again with --verbose for details; please report it if it looks like a bug\n');
  return ExitCode.error;
}

const code = await main(hideBin(process.argv));
process.exitCode = code;
