// MySQL / MariaDB: `mysqldump --single-transaction` (a consistent InnoDB
// snapshot without locking writers) of one database, restored into a temp
// schema, then ONE `RENAME TABLE` statement that moves every live table to
// `<db>_rollback_<job>` and every restored table into place: atomic for the
// tables. Tables that exist only live are moved away too, so the end state
// equals the dump.
//
// What RENAME cannot move: triggers (MySQL refuses to move a table with
// triggers to another schema: "Trigger in wrong schema"), views (bound to
// their schema) and routines/events (schema objects, not tables). Those are
// dropped before the rename and recreated right after it from their
// definitions (SHOW CREATE …), in the live schema from the restored copy and
// in the kept schema from the old live one. Writers should be stopped (hooks)
// for that moment: a trigger is absent for a few milliseconds.
//
// The password reaches the client only through MYSQL_PWD, never argv.
import type { Readable, Writable } from 'node:stream';
import type { DatabaseConfig, DumpOutcome, Engine, EngineProbe, RestoreStrategy, StagedRestore } from '../../core/engine.js';
import type { DatabaseEntry } from '../../core/types.js';
import { ExternalToolError, RollbackError, redact } from '../../core/errors.js';
import { hasTool, run } from '../process.js';
import { startPiped } from '../piped.js';
import {
  guardedRestore,
  derivedName,
  describeUrl,
  parseDbUrl,
  safeJobId,
  streamIntoTool,
  streamToolInto,
  validateKeys,
  versionOf,
  type EngineContext,
  type ParsedUrl,
} from './common.js';

const MAX_IDENT = 64;
const ident = (name: string) => `\`${name.replace(/`/g, '``')}\``;
const literal = (text: string) => `'${text.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`;

interface SchemaObjects {
  /** CREATE statements, in an order that can be replayed. */
  views: Array<{ name: string; sql: string }>;
  triggers: Array<{ name: string; sql: string }>;
  routines: Array<{ name: string; type: 'PROCEDURE' | 'FUNCTION'; sql: string }>;
  events: Array<{ name: string; sql: string }>;
}

export class MysqlEngine implements Engine {
  readonly engine = 'mysql';
  readonly name: string;
  private readonly url: ParsedUrl;
  private readonly env: NodeJS.ProcessEnv;
  private clients?: Promise<{ dump: string; client: string }>;

  constructor(config: DatabaseConfig, ctx: EngineContext) {
    validateKeys(config, { url: 'string' });
    this.name = config.name;
    this.url = parseDbUrl(config, ['mysql', 'mariadb']);
    if (!this.url.database) throw new RollbackError(`databases.${config.name}.url: no database name in the URL path`);
    this.env = { ...ctx.env, ...(this.url.password ? { MYSQL_PWD: this.url.password } : {}) };
  }

  describe(): string {
    return describeUrl(this.url);
  }

  private names(jobId: string) {
    const id = safeJobId(jobId);
    return {
      tmp: derivedName(this.url.database, `_rb_tmp_${id}`, MAX_IDENT),
      old: derivedName(this.url.database, `_rollback_${id}`, MAX_IDENT),
    };
  }

  strategy(jobId: string): RestoreStrategy {
    const { tmp, old } = this.names(jobId);
    return {
      text: `load into schema ${tmp}, then one RENAME TABLE swapping every table (old kept in ${old}); views, triggers and routines recreated`,
      downtime: 'tables swap atomically; triggers and views are absent for milliseconds around it: stop writers (hooks)',
    };
  }

  /** MariaDB's names first (its mysqldump is a deprecated alias); MySQL's otherwise. */
  private tools(): Promise<{ dump: string; client: string }> {
    this.clients ??= (async () => {
      if (await hasTool('mariadb-dump')) return { dump: 'mariadb-dump', client: 'mariadb' };
      return { dump: 'mysqldump', client: 'mysql' };
    })();
    return this.clients;
  }

  private connArgs(): string[] {
    const args = ['-h', this.url.host || '127.0.0.1', '-u', this.url.user || 'root'];
    if (this.url.port) args.push('-P', String(this.url.port));
    return args;
  }

  /** Runs SQL with the client in batch mode; returns tab-separated rows. */
  private async sql(statements: string, database?: string): Promise<string[][]> {
    const { client } = await this.tools();
    const args = [...this.connArgs(), '--batch', '--raw', '--skip-column-names', '--default-character-set=utf8mb4', '-e', statements];
    if (database) args.push(database);
    const r = await run(client, args, { env: this.env, reject: false });
    if (r.exitCode !== 0) throw new ExternalToolError(client, r.exitCode, scrub(r.stderr, this.url.password), undefined, connectHint(r.stderr));
    return r.stdout.split('\n').filter((line) => line !== '').map((line) => line.split('\t'));
  }

  async check(mode: 'dump' | 'restore'): Promise<EngineProbe> {
    const { dump, client } = await this.tools();
    const name = mode === 'dump' ? dump : client;
    const tool = `${name} ${versionOf((await run(name, ['--version'], { env: this.env })).stdout.replace(/^.*?Ver\s+[\d.]+\s+Distrib\s+/, ''))}`;
    const [[version = ''] = []] = await this.sql('SELECT VERSION()');
    if (mode === 'dump') {
      const rows = await this.sql(`SELECT 1 FROM information_schema.schemata WHERE schema_name = ${literal(this.url.database)}`);
      if (rows.length === 0) throw new RollbackError(`database ${this.name}: ${this.url.database} does not exist on ${describeUrl(this.url)}`);
    }
    return { tool, serverVersion: version };
  }

  async dump(out: Writable): Promise<DumpOutcome> {
    let probe: EngineProbe;
    try {
      probe = await this.check('dump');
    } catch (error) {
      out.destroy(error as Error);
      throw error;
    }
    const { dump } = await this.tools();
    const args = [
      ...this.connArgs(),
      '--single-transaction', '--routines', '--triggers', '--events',
      // Binary columns as hex: the dump stays valid text whatever the data.
      '--hex-blob', '--default-character-set=utf8mb4',
      // No date line: identical data gives an identical dump (free dedup).
      '--skip-dump-date',
      // One database without --databases: no CREATE DATABASE / USE, so it loads into any schema.
      this.url.database,
    ];
    const proc = startPiped(dump, args, { env: this.env, stdin: 'ignore', label: dump });
    await streamToolInto(proc, out, dump, connectHint(proc.stderr()) ?? 'check databases.<name>.url and that the user may read the database (and SHOW VIEW, TRIGGER, EVENT)');
    return { format: 'mysqldump-sql', ext: 'sql', tool: probe.tool, serverVersion: probe.serverVersion, details: { database: this.url.database } };
  }

  async stage(input: Readable, ctx: { jobId: string; entry: DatabaseEntry }): Promise<StagedRestore> {
    const { tmp, old } = this.names(ctx.jobId);
    const live = this.url.database;
    const existing = await this.sql(
      `SELECT schema_name FROM information_schema.schemata WHERE schema_name IN (${literal(tmp)}, ${literal(old)})`,
    );
    if (existing.length > 0) throw new RollbackError(`database ${this.name}: schema ${existing.map((r) => r[0]).join(', ')} already exists`, 'a job with this id ran before; drop it or use another id');

    // Same default character set and collation as the live schema.
    const [[charset, collation] = []] = await this.sql(
      `SELECT default_character_set_name, default_collation_name FROM information_schema.schemata WHERE schema_name = ${literal(live)}`,
    );
    await this.sql(`CREATE DATABASE ${ident(tmp)}${charset ? ` CHARACTER SET ${charset} COLLATE ${collation}` : ''}`);
    const dropTmp = () => this.sql(`DROP DATABASE IF EXISTS ${ident(tmp)}`);
    try {
      const { client } = await this.tools();
      const proc = startPiped(client, [...this.connArgs(), '--default-character-set=utf8mb4', '--binary-mode', tmp], {
        env: this.env,
        stdout: 'ignore',
        label: client,
      });
      await streamIntoTool(input, proc, client, 'the temp schema was dropped and nothing live was touched');
    } catch (error) {
      await dropTmp().catch(() => undefined);
      throw error;
    }

    const engine = this;
    return guardedRestore(this.name, {
      async swap() {
        await engine.sql(`CREATE DATABASE IF NOT EXISTS ${ident(live)}`);
        await engine.sql(`CREATE DATABASE ${ident(old)}${charset ? ` CHARACTER SET ${charset} COLLATE ${collation}` : ''}`);
        await engine.exchange(live, tmp, old);
        await engine.sql(`DROP DATABASE IF EXISTS ${ident(tmp)}`);
        return old;
      },
      async unswap() {
        await engine.sql(`CREATE DATABASE ${ident(tmp)}`);
        await engine.exchange(live, old, tmp);
        await engine.sql(`DROP DATABASE IF EXISTS ${ident(old)}`);
      },
      async discard(swapped) {
        if (!swapped) await dropTmp();
      },
    });
  }

  /** Previous copies kept by earlier swaps (`<db>_rollback_<job>`), for prune. */
  async listKept(): Promise<string[]> {
    const prefix = `${this.url.database}_rollback_`;
    const rows = await this.sql(`SELECT schema_name FROM information_schema.schemata WHERE left(schema_name, ${prefix.length}) = ${literal(prefix)} ORDER BY 1`);
    return rows.map((r) => r[0]!);
  }

  /** Drops one kept copy; refuses any name that is not one (never the live schema). */
  async dropKept(name: string): Promise<void> {
    if (!(await this.listKept()).includes(name)) throw new RollbackError(`database ${this.name}: ${name} is not a kept copy of ${this.url.database}`);
    await this.sql(`DROP DATABASE ${ident(name)}`);
  }

  /** Tables (not views) of a schema. */
  private async tables(schema: string): Promise<string[]> {
    const rows = await this.sql(
      `SELECT table_name FROM information_schema.tables WHERE table_schema = ${literal(schema)} AND table_type = 'BASE TABLE' ORDER BY table_name`,
    );
    return rows.map((r) => r[0]!);
  }

  /** Definitions of everything RENAME TABLE cannot move, replayable in another schema. */
  private async objects(schema: string): Promise<SchemaObjects> {
    const s = literal(schema);
    const result: SchemaObjects = { views: [], triggers: [], routines: [], events: [] };
    const showCreate = async (what: string, name: string, column: number) => {
      const { client } = await this.tools();
      // --raw keeps newlines in bodies; -N drops the header. One row.
      const r = await run(client, [...this.connArgs(), '--batch', '--raw', '--skip-column-names', '--default-character-set=utf8mb4', '-e', `SHOW CREATE ${what} ${ident(name)}`, schema], { env: this.env, reject: false });
      if (r.exitCode !== 0) throw new ExternalToolError(client, r.exitCode, scrub(r.stderr, this.url.password));
      const fields = r.stdout.replace(/\n$/, '').split('\t');
      return fields[column] ?? '';
    };
    for (const [name] of await this.sql(`SELECT table_name FROM information_schema.views WHERE table_schema = ${s} ORDER BY table_name`)) {
      // Views are stored with schema-qualified column names (`tmp`.`t`.`a`):
      // make them refer to whatever schema the statement runs in.
      const sql = (await showCreate('VIEW', name!, 1)).split(`${ident(schema)}.`).join('');
      result.views.push({ name: name!, sql });
    }
    for (const [name] of await this.sql(`SELECT trigger_name FROM information_schema.triggers WHERE trigger_schema = ${s} ORDER BY action_order`)) {
      result.triggers.push({ name: name!, sql: await showCreate('TRIGGER', name!, 2) });
    }
    for (const [name, type] of await this.sql(`SELECT routine_name, routine_type FROM information_schema.routines WHERE routine_schema = ${s} ORDER BY routine_name`)) {
      const kind = type === 'FUNCTION' ? 'FUNCTION' : 'PROCEDURE';
      result.routines.push({ name: name!, type: kind, sql: await showCreate(kind, name!, 2) });
    }
    for (const [name] of await this.sql(`SELECT event_name FROM information_schema.events WHERE event_schema = ${s} ORDER BY event_name`)) {
      result.events.push({ name: name!, sql: await showCreate('EVENT', name!, 3) });
    }
    return result;
  }

  private async dropObjects(schema: string, objects: SchemaObjects): Promise<void> {
    const drops = [
      ...objects.triggers.map((o) => `DROP TRIGGER IF EXISTS ${ident(o.name)}`),
      ...objects.views.map((o) => `DROP VIEW IF EXISTS ${ident(o.name)}`),
      ...objects.routines.map((o) => `DROP ${o.type} IF EXISTS ${ident(o.name)}`),
      ...objects.events.map((o) => `DROP EVENT IF EXISTS ${ident(o.name)}`),
    ];
    if (drops.length > 0) await this.sql(drops.join(';\n'), schema);
  }

  private async createObjects(schema: string, objects: SchemaObjects): Promise<void> {
    // A view may select from another view: create in passes until all exist.
    let pending = objects.views;
    while (pending.length > 0) {
      const failed: typeof pending = [];
      let lastError: unknown;
      for (const view of pending) {
        try {
          await this.sql(view.sql, schema);
        } catch (error) {
          failed.push(view);
          lastError = error;
        }
      }
      if (failed.length === pending.length) throw lastError;
      pending = failed;
    }
    for (const o of [...objects.routines, ...objects.triggers, ...objects.events]) await this.sql(o.sql, schema);
  }

  /**
   * live's tables → park, incoming's tables → live, in ONE RENAME TABLE;
   * non-table objects moved around it by definition.
   */
  private async exchange(live: string, incoming: string, park: string): Promise<void> {
    const [liveTables, newTables, liveObjects, newObjects] = await Promise.all([
      this.tables(live),
      this.tables(incoming),
      this.objects(live),
      this.objects(incoming),
    ]);
    await this.dropObjects(incoming, newObjects);
    await this.dropObjects(live, liveObjects);
    const renames = [
      ...liveTables.map((t) => `${ident(live)}.${ident(t)} TO ${ident(park)}.${ident(t)}`),
      ...newTables.map((t) => `${ident(incoming)}.${ident(t)} TO ${ident(live)}.${ident(t)}`),
    ];
    if (renames.length > 0) {
      try {
        await this.sql(`RENAME TABLE ${renames.join(', ')}`);
      } catch (error) {
        // Nothing moved (RENAME TABLE is all or nothing): put the objects back.
        await this.createObjects(live, liveObjects).catch(() => undefined);
        await this.createObjects(incoming, newObjects).catch(() => undefined);
        throw error;
      }
    }
    await this.createObjects(live, newObjects);
    await this.createObjects(park, liveObjects);
  }
}

function scrub(text: string, password: string): string {
  const clean = redact(text);
  return password ? clean.split(password).join('***') : clean;
}

function connectHint(stderr: string): string | undefined {
  if (/Access denied/.test(stderr)) return 'wrong user or password: set them in databases.<name>.url (password from ${VAR}) or ~/.my.cnf';
  if (/Can't connect|Connection refused|Unknown server host|Lost connection/.test(stderr)) return 'is the MySQL/MariaDB server running and reachable at the host and port of databases.<name>.url?';
  return undefined;
}
