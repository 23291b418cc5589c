// Every command, in the order `git rollback -h` lists them. A function, so
// that descriptions are read after the language is chosen.
import type { CommandModule } from 'yargs';
import { adoptCommand } from './adopt.js';
import { completionCommands } from './completion.js';
import { deleteCommand } from './delete.js';
import { deployCommand } from './deploy.js';
import { diffCommand } from './diff.js';
import { initCommand } from './init.js';
import { listCommand } from './list.js';
import { logCommand } from './log.js';
import { pointCommand } from './point.js';
import { protectCommands } from './protect.js';
import { pruneCommand } from './prune.js';
import { releaseCommand } from './release.js';
import { fetchCommand, pushCommand } from './remote.js';
import { reportCommand } from './report.js';
import { showCommand } from './show.js';
import { statusCommand } from './status.js';
import { toCommand } from './to.js';
import { trustCommand } from './trust.js';
import { keygenCommand } from './keygen.js';
import { undoCommand } from './undo.js';
import { verifyCommand } from './verify.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function commands(): CommandModule<any, any>[] {
  return [
    pointCommand,
    releaseCommand,
    listCommand,
    showCommand,
    statusCommand,
    diffCommand,
    toCommand,
    undoCommand,
    deployCommand,
    deleteCommand,
    ...protectCommands,
    pruneCommand,
    verifyCommand,
    logCommand,
    reportCommand,
    pushCommand,
    fetchCommand,
    adoptCommand,
    initCommand,
    trustCommand,
    keygenCommand,
    ...completionCommands,
  ];
}
