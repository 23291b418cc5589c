// Every command, in the order `git rollback --help` lists them.
import type { CommandModule } from 'yargs';
import { deleteCommand } from './delete.js';
import { initCommand } from './init.js';
import { listCommand } from './list.js';
import { pointCommand } from './point.js';
import { protectCommands } from './protect.js';
import { showCommand } from './show.js';
import { toCommand } from './to.js';
import { undoCommand } from './undo.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const commands: CommandModule<any, any>[] = [pointCommand, listCommand, showCommand, toCommand, undoCommand, deleteCommand, ...protectCommands, initCommand];
