// The schema objects a MySQL/MariaDB `RENAME TABLE` cannot carry from one
// schema to another (triggers, views, routines, events): read as the server
// shows them, written back whole, moved between schemas by rewriting only the
// schema qualifiers that name the schema they come from; plus the line
// filter that adjusts trigger and event statements inside a dump stream.
import { Transform, type TransformCallback } from 'node:stream';
import { RollbackError } from '../../core/errors.js';
import { ident, literal, type MysqlSession } from './mysql-session.js';

export type DefKind = 'TRIGGER' | 'VIEW' | 'PROCEDURE' | 'FUNCTION' | 'PACKAGE' | 'PACKAGE BODY' | 'EVENT';

/** One object's definition, with the session context it was created in. */
export interface Def {
  kind: DefKind;
  name: string;
  /** The CREATE statement as SHOW CREATE gives it. */
  sql: string;
  /** Triggers: the table. */
  table?: string;
  sqlMode?: string;
  charset?: string;
  collation?: string;
  /** Events. */
  timeZone?: string;
  /** The schema's collation when it was made (triggers, routines, events keep it). */
  dbCollation?: string;
}

export interface SchemaObjects {
  /** In creation order: per table, timing and event, by action order. */
  triggers: Def[];
  views: Def[];
  routines: Def[];
  events: Def[];
}

export const emptyObjects = (): SchemaObjects => ({ triggers: [], views: [], routines: [], events: [] });

/** A column default drawn from a sequence, as the dump wrote it (naming the dumped schema). */
export interface SequenceDefault {
  table: string;
  column: string;
  /** e.g. nextval(`shop`.`ticket_seq`) */
  expr: string;
}

// --- reading ---------------------------------------------------------------

const str = (v: unknown): string | undefined => (v === null || v === undefined ? undefined : Buffer.isBuffer(v) ? v.toString('utf8') : String(v));

/** Every trigger, view, routine and event of `schema`, as SHOW CREATE gives them. */
export async function readObjects(s: MysqlSession, schema: string): Promise<SchemaObjects> {
  const lit = literal(schema);
  const [triggerRows, viewNames, routineRows, eventNames] = await Promise.all([
    s.rows(
      `SELECT TRIGGER_NAME, EVENT_OBJECT_TABLE FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = ${lit}
       ORDER BY EVENT_OBJECT_TABLE, ACTION_TIMING, EVENT_MANIPULATION, ACTION_ORDER`,
      'list triggers',
    ),
    s.column(`SELECT TABLE_NAME FROM information_schema.VIEWS WHERE TABLE_SCHEMA = ${lit} ORDER BY TABLE_NAME`, 'list views'),
    s.rows(
      `SELECT ROUTINE_NAME, ROUTINE_TYPE FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = ${lit}
       ORDER BY FIELD(ROUTINE_TYPE, 'FUNCTION', 'PROCEDURE', 'PACKAGE', 'PACKAGE BODY'), ROUTINE_NAME`,
      'list routines',
    ),
    s.column(`SELECT EVENT_NAME FROM information_schema.EVENTS WHERE EVENT_SCHEMA = ${lit} ORDER BY EVENT_NAME`, 'list events'),
  ]);
  const q = (name: string) => `${ident(schema)}.${ident(name)}`;
  const show = async (kind: DefKind, name: string): Promise<Record<string, unknown>> => {
    const [row] = await s.query(`SHOW CREATE ${kind} ${q(name)}`, `read the definition of ${kind.toLowerCase()} ${schema}.${name}`);
    if (!row) throw new RollbackError(`${kind.toLowerCase()} ${schema}.${name} disappeared while it was read`);
    return row;
  };
  const body = (row: Record<string, unknown>, column: string, kind: DefKind, name: string) => {
    const text = str(row[column]);
    if (!text) {
      throw new RollbackError(
        `cannot read the definition of ${kind.toLowerCase()} ${schema}.${name}: the server shows it only to its definer or to a user with SELECT on mysql.proc`,
        'grant the restoring user SELECT ON mysql.proc (MariaDB) or SHOW_ROUTINE (MySQL), or make it the definer',
      );
    }
    return text;
  };
  const out = emptyObjects();
  for (const [name, table] of triggerRows) {
    const row = await show('TRIGGER', name!);
    out.triggers.push({
      kind: 'TRIGGER', name: name!, table: table!, sql: body(row, 'SQL Original Statement', 'TRIGGER', name!),
      sqlMode: str(row.sql_mode), charset: str(row.character_set_client), collation: str(row.collation_connection), dbCollation: str(row['Database Collation']),
    });
  }
  for (const name of viewNames) {
    const row = await show('VIEW', name);
    out.views.push({ kind: 'VIEW', name, sql: body(row, 'Create View', 'VIEW', name), charset: str(row.character_set_client), collation: str(row.collation_connection) });
  }
  for (const [name, type] of routineRows) {
    const kind = type as DefKind;
    const row = await show(kind, name!);
    const column = { PROCEDURE: 'Create Procedure', FUNCTION: 'Create Function', PACKAGE: 'Create Package', 'PACKAGE BODY': 'Create Package Body' }[kind as string]!;
    out.routines.push({
      kind, name: name!, sql: body(row, column, kind, name!),
      sqlMode: str(row.sql_mode), charset: str(row.character_set_client), collation: str(row.collation_connection), dbCollation: str(row['Database Collation']),
    });
  }
  for (const name of eventNames) {
    const row = await show('EVENT', name);
    out.events.push({
      kind: 'EVENT', name, sql: body(row, 'Create Event', 'EVENT', name),
      sqlMode: str(row.sql_mode), timeZone: str(row.time_zone), charset: str(row.character_set_client), collation: str(row.collation_connection),
      dbCollation: str(row['Database Collation']),
    });
  }
  return out;
}

// --- a small SQL tokenizer (enough to find identifiers outside strings and comments) ---

interface Token {
  type: 'ident' | 'quoted' | 'word' | 'string' | 'punct';
  /** Identifier value (unquoted) or the text. */
  value: string;
  start: number;
  end: number;
}

function* tokens(sql: string, from = 0): Generator<Token> {
  let i = from;
  const n = sql.length;
  while (i < n) {
    const c = sql[i]!;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if (sql.startsWith('/*!', i) || sql.startsWith('/*M!', i)) {
      // An executable comment: its content is code; skip only the marker and version.
      i += sql.startsWith('/*M!', i) ? 4 : 3;
      while (i < n && /[0-9]/.test(sql[i]!)) i++;
      continue;
    }
    if (sql.startsWith('*/', i)) {
      i += 2;
      continue;
    }
    if (sql.startsWith('/*', i)) {
      const end = sql.indexOf('*/', i + 2);
      i = end < 0 ? n : end + 2;
      continue;
    }
    if (sql.startsWith('-- ', i) || sql.startsWith('--\t', i) || c === '#') {
      const end = sql.indexOf('\n', i);
      i = end < 0 ? n : end + 1;
      continue;
    }
    if (c === '`' || c === '"' || c === "'") {
      let j = i + 1;
      let value = '';
      while (j < n) {
        const d = sql[j]!;
        if (d === '\\' && c !== '`') {
          value += sql[j + 1] ?? '';
          j += 2;
          continue;
        }
        if (d === c) {
          if (sql[j + 1] === c) {
            value += c;
            j += 2;
            continue;
          }
          break;
        }
        value += d;
        j++;
      }
      yield { type: c === '`' ? 'ident' : c === '"' ? 'quoted' : 'string', value, start: i, end: Math.min(j + 1, n) };
      i = j + 1;
      continue;
    }
    const word = /^[\p{L}\p{N}_$\u0080-\uffff]+/u.exec(sql.slice(i, i + 256));
    if (word) {
      yield { type: 'word', value: word[0], start: i, end: i + word[0].length };
      i += word[0].length;
      continue;
    }
    yield { type: 'punct', value: c, start: i, end: i + 1 };
    i++;
  }
}

const isName = (t: Token | undefined) => t !== undefined && (t.type === 'ident' || t.type === 'word' || t.type === 'quoted');

/** Spans of schema qualifiers in `sql` that name `schema` (`schema`.x), outside strings and comments. */
function qualifierSpans(sql: string, schema: string, only?: (t: Token[], k: number) => boolean): Array<{ start: number; end: number; quoted: boolean }> {
  const list = [...tokens(sql)];
  const spans: Array<{ start: number; end: number; quoted: boolean }> = [];
  for (let k = 0; k + 1 < list.length; k++) {
    const t = list[k]!;
    const dot = list[k + 1]!;
    if (!isName(t) || t.value !== schema || dot.value !== '.' || dot.start !== t.end) continue;
    if (t.type === 'word' && k > 0 && list[k - 1]!.value === '.' && list[k - 1]!.end === t.start) continue; // x.schema.y: not a qualifier
    if (only && !only(list, k)) continue;
    spans.push({ start: t.start, end: t.end, quoted: t.type !== 'word' });
  }
  return spans;
}

function replaceSpans(sql: string, spans: Array<{ start: number; end: number; quoted: boolean }>, to: string): string {
  let out = '';
  let at = 0;
  for (const span of spans) {
    out += sql.slice(at, span.start) + (span.quoted || !/^[A-Za-z0-9_$]+$/.test(to) || /^\d+$/.test(to) ? ident(to) : to);
    at = span.end;
  }
  return out + sql.slice(at);
}

/**
 * The trigger's own name and table as its CREATE statement writes them.
 * A trigger's statement is kept as the user wrote it, so it may qualify
 * both (`CREATE TRIGGER shop.t1 … ON shop.orders`): moving it to another
 * schema must rewrite exactly those two qualifiers, nothing in its body.
 */
export function triggerHeader(sql: string): { name: string; table: string; qualifiers: Array<{ start: number; end: number; quoted: boolean; value: string }> } {
  const list: Token[] = [];
  for (const t of tokens(sql)) {
    list.push(t);
    if (t.type === 'word' && /^ROW$/i.test(t.value)) break;
    if (list.length > 200) break;
  }
  const fail = () => new RollbackError(`cannot read the header of a trigger statement: ${sql.slice(0, 120)}`);
  let k = list.findIndex((t) => t.type === 'word' && /^TRIGGER$/i.test(t.value));
  if (k < 0) throw fail();
  k++;
  if (list[k]?.type === 'word' && /^IF$/i.test(list[k]!.value)) k += 3; // IF NOT EXISTS
  const qualifiers: Array<{ start: number; end: number; quoted: boolean; value: string }> = [];
  const qualifiedName = (): string => {
    const first = list[k];
    if (!isName(first)) throw fail();
    if (list[k + 1]?.value === '.' && isName(list[k + 2])) {
      qualifiers.push({ start: first!.start, end: first!.end, quoted: first!.type !== 'word', value: first!.value });
      k += 3;
      return list[k - 1]!.value;
    }
    k += 1;
    return first!.value;
  };
  const name = qualifiedName();
  while (k < list.length && !(list[k]!.type === 'word' && /^ON$/i.test(list[k]!.value))) k++;
  if (k >= list.length) throw fail();
  k++;
  const table = qualifiedName();
  return { name, table, qualifiers };
}

/**
 * The definition as it must read in schema `to` when it was read in `from`:
 * views name their tables `from`.t; a trigger may qualify its name and table.
 * Routines and events are shown unqualified and move as they are.
 */
export function retarget(def: Def, from: string, to: string): Def {
  if (from === to) return def;
  if (def.kind === 'VIEW') return { ...def, sql: replaceSpans(def.sql, qualifierSpans(def.sql, from), to) };
  if (def.kind === 'TRIGGER') {
    const { qualifiers } = triggerHeader(def.sql);
    return { ...def, sql: replaceSpans(def.sql, qualifiers.filter((q) => q.value === from), to) };
  }
  return def;
}

// --- events: their status --------------------------------------------------

const STATUS = /(\bON\s+COMPLETION\s+(?:NOT\s+)?PRESERVE\s+)(ENABLE|DISABLE\s+ON\s+SLAVE|DISABLE\s+ON\s+REPLICA|DISABLE)\b/i;

/** ENABLE, DISABLE or DISABLE ON SLAVE, as the event's CREATE statement says. */
export function eventStatus(sql: string): string {
  const m = STATUS.exec(sql);
  if (!m) throw new RollbackError(`cannot read the status of an event statement: ${sql.slice(0, 120)}`);
  return m[2]!.toUpperCase().replace(/\s+/g, ' ');
}

/**
 * The event statement with another status. SHOW CREATE EVENT writes the
 * schedule, then ON COMPLETION … and the status, then COMMENT and DO: the
 * first match is the status (a schedule holds no such words).
 */
export function withEventStatus(sql: string, status: string): string {
  if (!STATUS.test(sql)) throw new RollbackError(`cannot set the status of an event statement: ${sql.slice(0, 120)}`);
  return sql.replace(STATUS, (_m, head: string) => `${head}${status}`);
}

// --- writing ---------------------------------------------------------------

function orReplace(sql: string): string {
  return sql.replace(/^\s*CREATE\s+(?!OR\s+REPLACE\b)/i, 'CREATE OR REPLACE ');
}

/**
 * Creates (or replaces) `def` in `schema`. MariaDB replaces in one statement;
 * MySQL has no CREATE OR REPLACE for these, so it drops first.
 */
export async function createDef(s: MysqlSession, schema: string, def: Def, replace: boolean, schemaCollation?: string): Promise<void> {
  const doing = `create ${def.kind.toLowerCase()} ${schema}.${def.name}`;
  let sql = def.sql;
  if (replace && def.kind !== 'TRIGGER') {
    if (s.mariadb || def.kind === 'VIEW') sql = orReplace(sql);
    else await s.exec(`DROP ${def.kind} IF EXISTS ${ident(schema)}.${ident(def.name)}`, doing);
  }
  // An object records the schema's collation at its creation: make it under the one it had
  // (as mariadb-dump does), then put the schema's back.
  const current = def.dbCollation ? (schemaCollation ?? (await collationOf(s, schema))) : undefined;
  if (def.dbCollation && current && current !== def.dbCollation && /^[A-Za-z0-9_]+$/.test(def.dbCollation)) {
    await s.exec(`ALTER DATABASE ${ident(schema)} COLLATE ${def.dbCollation}`, doing);
    try {
      await s.createIn(schema, sql, def, doing);
    } finally {
      await s.exec(`ALTER DATABASE ${ident(schema)} COLLATE ${current}`, `${doing} (set the schema's collation back)`);
    }
    return;
  }
  await s.createIn(schema, sql, def, doing);
}

export async function collationOf(s: MysqlSession, schema: string): Promise<string | undefined> {
  const [row] = await s.column(`SELECT DEFAULT_COLLATION_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ${literal(schema)}`);
  return row;
}

export async function dropDef(s: MysqlSession, schema: string, kind: DefKind, name: string): Promise<void> {
  await s.exec(`DROP ${kind} IF EXISTS ${ident(schema)}.${ident(name)}`, `drop ${kind.toLowerCase()} ${schema}.${name}`);
}

/** Views over views: create in passes until every one exists (a pass that makes none is an error). */
export async function createViews(s: MysqlSession, schema: string, views: Def[], replace: boolean): Promise<void> {
  let pending = views;
  while (pending.length > 0) {
    const failed: Def[] = [];
    let lastError: unknown;
    for (const view of pending) {
      try {
        await createDef(s, schema, view, replace);
      } catch (error) {
        failed.push(view);
        lastError = error;
      }
    }
    if (failed.length === pending.length) throw lastError;
    pending = failed;
  }
}

/**
 * Triggers of one schema in their action order. A FOLLOWS/PRECEDES clause
 * needs the trigger it names first: such a trigger waits for a later pass.
 */
export async function createTriggers(s: MysqlSession, schema: string, triggers: Def[], schemaCollation?: string): Promise<void> {
  if (triggers.length === 0) return;
  const collation = schemaCollation ?? (await collationOf(s, schema));
  let pending = triggers;
  while (pending.length > 0) {
    const failed: Def[] = [];
    let lastError: unknown;
    for (const trigger of pending) {
      try {
        await createDef(s, schema, trigger, false, collation);
      } catch (error) {
        failed.push(trigger);
        lastError = error;
      }
    }
    if (failed.length === pending.length) throw lastError;
    pending = failed;
  }
}

// --- the dump stream -------------------------------------------------------

/**
 * Rewrites trigger and event statements in a mysqldump/mariadb-dump stream,
 * leaving every other byte as it is. Those statements start a line with
 * `/*!50003 CREATE*\/ … TRIGGER` or `/*!50106 CREATE*\/ … EVENT` and end at a
 * line ending in `;;` (the dump sets DELIMITER ;; around them). Data lines
 * pass through without being decoded.
 */
export class DumpStatementFilter extends Transform {
  private carry: Buffer = Buffer.alloc(0);
  /** The statement being collected, as the bytes that came in. */
  private statement: Buffer[] | null = null;
  private statementBytes = 0;
  /** Inside a line that passes through unchanged. */
  private passLine = false;
  /**
   * The `/*!50003 SET …*\/ ;` and `DELIMITER ;;` lines mariadb-dump writes
   * before a trigger, held until the statement after them is known: a trigger
   * left out takes its wrapper with it.
   */
  private pending: Buffer[] = [];
  /** After a trigger left out: its closing `DELIMITER ;` and restoring SET lines go too. */
  private skipClosing = false;
  /** The table whose CREATE TABLE is being read (for sequenceDefaults). */
  private table: string | null = null;

  constructor(
    private readonly edit: {
      /** Returns the statement to write instead, or null to leave it out. */
      trigger?(statement: string): string | null;
      event?(statement: string): string | null;
      /**
       * Leave out the dump's `LOCK TABLES … WRITE;` / `UNLOCK TABLES;` lines. They
       * only speed up MyISAM loads, and break one: a table whose DEFAULT draws from
       * a sequence cannot be filled under LOCK TABLES that does not name the
       * sequence ("Table 'seq' was not locked with LOCK TABLES").
       */
      dropLocks?: boolean;
      /**
       * mariadb-dump wraps an object made under another schema collation in
       * `ALTER DATABASE \`<db>\` … COLLATE …` lines that NAME the dumped schema:
       * loaded as they are, they would alter that schema (the live one).
       */
      renameSchema?: { from: string; to: string };
      /**
       * A column `DEFAULT nextval(\`<db>\`.\`seq\`)` names its schema, and a table
       * cannot even be filled (explicit values included) while that sequence does
       * not exist, which is the case in a fresh staged schema when the table sorts
       * before its sequence. Such defaults are left out of the CREATE TABLE and
       * collected here, to be set again once the tables are live.
       */
      sequenceDefaults?: { from: string; found: SequenceDefault[] };
    },
  ) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    try {
      this.consume(this.carry.length > 0 ? Buffer.concat([this.carry, chunk]) : chunk, false);
      done();
    } catch (error) {
      done(error as Error);
    }
  }

  override _flush(done: TransformCallback): void {
    try {
      this.consume(this.carry, true);
      if (this.statement !== null) this.finish(this.statement);
      this.statement = null;
      this.flushPending();
      done();
    } catch (error) {
      done(error as Error);
    }
  }

  private flushPending(): void {
    for (const line of this.pending) this.push(line);
    this.pending = [];
  }

  /**
   * Lines that cannot matter pass through as they come (a data line of
   * megabytes is never gathered); a line that may is held until its head is
   * known, and a statement until its end.
   */
  private consume(buffer: Buffer, end: boolean): void {
    let at = 0;
    let passFrom = 0;
    this.carry = Buffer.alloc(0);
    const hold = (from: number) => {
      if (passFrom < from) this.push(buffer.subarray(passFrom, from));
      this.carry = Buffer.from(buffer.subarray(from));
      passFrom = buffer.length;
      at = buffer.length;
    };
    while (at < buffer.length) {
      if (this.passLine) {
        const nl = buffer.indexOf(10, at);
        if (nl < 0) {
          at = buffer.length;
          break;
        }
        this.passLine = false;
        at = nl + 1;
        continue;
      }
      const nl = buffer.indexOf(10, at);
      const complete = nl >= 0 || end;
      const lineEnd = nl < 0 ? buffer.length : nl + 1;
      if (this.statement !== null) {
        if (!complete) {
          hold(at);
          break;
        }
        if (passFrom < at) this.push(buffer.subarray(passFrom, at));
        const line = Buffer.from(buffer.subarray(at, lineEnd));
        this.statement.push(line);
        this.statementBytes += line.length;
        if (this.statementBytes > 64 * 1024 * 1024) throw new RollbackError('a trigger or event statement in the dump does not end');
        if (endsStatement(line)) {
          this.finish(this.statement);
          this.statement = null;
        }
        at = passFrom = lineEnd;
        continue;
      }
      const first = buffer[at];
      const maybe =
        first === 0x2f /* / */ || first === 0x44 /* D */ ||
        (this.edit.dropLocks === true && (first === 0x4c /* L */ || first === 0x55) /* U */) ||
        (this.edit.renameSchema !== undefined && first === 0x41) /* A */ ||
        (this.edit.sequenceDefaults !== undefined && (first === 0x43 /* C */ || first === 0x20)); /* space */
      if (!maybe) {
        if (passFrom < at) this.push(buffer.subarray(passFrom, at));
        passFrom = at;
        this.flushPending();
        this.skipClosing = false;
        this.passLine = true;
        continue;
      }
      if (!complete && buffer.length - at < 4096) {
        hold(at);
        break;
      }
      const head = buffer.subarray(at, Math.min(lineEnd, at + 4096)).toString('utf8');
      const kind = this.classify(head);
      if (kind === 'other') {
        if (passFrom < at) this.push(buffer.subarray(passFrom, at));
        passFrom = at;
        this.flushPending();
        this.skipClosing = false;
        this.passLine = true;
        continue;
      }
      if (!complete) {
        hold(at);
        break;
      }
      if (passFrom < at) this.push(buffer.subarray(passFrom, at));
      const line = Buffer.from(buffer.subarray(at, lineEnd));
      at = passFrom = lineEnd;
      switch (kind) {
        case 'lock':
          break;
        case 'alter': {
          this.flushPending();
          const m = /^ALTER DATABASE `((?:[^`]|``)+)`( (?:CHARACTER SET \w+ )?COLLATE \w+ ;;?\r?\n?)$/.exec(line.toString('utf8'))!;
          const named = m[1]!.replace(/``/g, '`');
          const { from, to } = this.edit.renameSchema!;
          if (named !== from) throw new RollbackError(`the dump alters schema ${named}, not the one it was taken from (${from}): refusing to load it`);
          this.push(Buffer.from(`ALTER DATABASE ${ident(to)}${m[2]}`, 'utf8'));
          break;
        }
        case 'wrapper':
          if (/= @saved_/.test(head)) {
            // Restores the session after a statement: part of what came before.
            if (this.skipClosing) break;
            this.flushPending();
            this.push(line);
            break;
          }
          this.skipClosing = false;
          this.pending.push(line);
          break;
        case 'open':
          this.skipClosing = false;
          this.pending.push(line);
          break;
        case 'close':
          if (this.skipClosing) break;
          this.flushPending();
          this.push(line);
          break;
        case 'column': {
          // "  `id` bigint(20) NOT NULL DEFAULT nextval(`shop`.`seq`),"
          const text = line.toString('utf8');
          const m = /^  `((?:[^`]|``)+)` (.*?) DEFAULT ((?:nextval|lastval)\(`(?:[^`]|``)+`\.`(?:[^`]|``)+`\))(.*)$/s.exec(text);
          if (!m) {
            this.push(line);
            break;
          }
          this.edit.sequenceDefaults!.found.push({ table: this.table!, column: m[1]!.replace(/``/g, '`'), expr: m[3]! });
          this.push(Buffer.from(`  \`${m[1]}\` ${m[2]}${m[4]}`, 'utf8'));
          break;
        }
        case 'trigger':
        case 'event':
          this.skipClosing = false;
          if (endsStatement(line)) this.finish([line]);
          else {
            this.statement = [line];
            this.statementBytes = line.length;
          }
          break;
      }
    }
    if (passFrom < buffer.length && at >= buffer.length) this.push(buffer.subarray(passFrom));
  }

  private classify(head: string): 'trigger' | 'event' | 'lock' | 'alter' | 'wrapper' | 'open' | 'close' | 'column' | 'other' {
    if (this.edit.sequenceDefaults) {
      const table = /^CREATE TABLE `((?:[^`]|``)+)` \($/m.exec(head);
      if (table) this.table = table[1]!.replace(/``/g, '`');
      if (head.startsWith('  `') && this.table !== null && head.includes(`val(${ident(this.edit.sequenceDefaults.from)}.`)) return 'column';
    }
    if (this.edit.trigger && head.startsWith('/*!50003 CREATE*/') && /^\/\*!50003 CREATE\*\/ (\/\*!50017 DEFINER=.*?\*\/ )?\/\*!50003 TRIGGER\b/.test(head)) return 'trigger';
    if (this.edit.event && head.startsWith('/*!50106 CREATE*/')) return 'event';
    if (this.edit.dropLocks && /^(LOCK TABLES `(?:[^`]|``)+` WRITE;|UNLOCK TABLES;)\r?\n?$/.test(head)) return 'lock';
    if (this.edit.renameSchema && /^ALTER DATABASE `(?:[^`]|``)+` (?:CHARACTER SET \w+ )?COLLATE \w+ ;;?\r?\n?$/.test(head)) return 'alter';
    if (this.edit.trigger && /^\/\*!50003 SET [^\n]*\*\/ ;\r?\n?$/.test(head)) return 'wrapper';
    if (this.edit.trigger && /^DELIMITER ;;\r?\n?$/.test(head)) return 'open';
    if (this.edit.trigger && /^DELIMITER ;\r?\n?$/.test(head)) return 'close';
    return 'other';
  }

  /** Writes the statement, edited; its own bytes when the edit changes nothing. */
  private finish(parts: Buffer[]): void {
    const raw = Buffer.concat(parts);
    const text = raw.toString('utf8');
    const result = text.startsWith('/*!50003') ? this.edit.trigger!(text) : this.edit.event!(text);
    if (result === null) {
      // Left out, with the wrapper that set up its session.
      this.pending = [];
      this.skipClosing = true;
      return;
    }
    this.flushPending();
    if (result === text) this.push(raw);
    else this.push(Buffer.from(result, 'utf8'));
  }
}

function endsStatement(line: Buffer): boolean {
  return /;;\s*$/.test(line.subarray(Math.max(0, line.length - 16)).toString('latin1'));
}

/** The object's name in a dump's trigger or event statement. */
export function dumpStatementName(statement: string): string {
  if (statement.startsWith('/*!50003')) return triggerHeader(statement).name;
  const m = /\/\*!50106 EVENT\s+((?:`(?:[^`]|``)+`)|[^\s.]+)(?:\.((?:`(?:[^`]|``)+`)|\S+))?/.exec(statement);
  if (!m) throw new RollbackError(`cannot read the event name in a dump statement: ${statement.slice(0, 120)}`);
  const raw = m[2] ?? m[1]!;
  return raw.startsWith('`') ? raw.slice(1, -1).replace(/``/g, '`') : raw;
}
