// PostgreSQL database-level state that pg_dump without --create leaves out
// (owner, locale, tablespace, ACL, settings, role-in-database settings,
// comment, connection limit, ALLOW_CONNECTIONS, IS_TEMPLATE): read from the
// catalogs, carried in the dump stream's first line, and re-applied as SQL.
// Setting values may be secrets (PostgREST keeps its JWT secret in
// `ALTER DATABASE … SET`), so they travel only inside the dump (stored like
// the data) and never in argv, notes or messages; details() keeps names only.
import { RollbackError } from '../../core/errors.js';
import { msg } from '../../core/i18n.js';

/** One aclitem of datacl, privileges of one grantee from one grantor. */
export interface AclGrant {
  /** Role name; '' is PUBLIC. */
  grantee: string;
  grantor: string;
  privileges: string[];
  /** The subset of privileges held WITH GRANT OPTION. */
  grantable: string[];
}

export interface DbAttributes {
  owner: string;
  encoding: string;
  /** datlocprovider: 'libc', 'icu' or 'builtin'. */
  localeProvider: string;
  collate: string;
  ctype: string;
  /** ICU (15, 16: daticulocale) or builtin (17: datlocale) locale. */
  locale?: string;
  /** ICU tailoring rules (16+). */
  icuRules?: string;
  tablespace: string;
  connectionLimit: number;
  allowConnections: boolean;
  isTemplate: boolean;
  /** null: the default ACL (datacl IS NULL). */
  acl: AclGrant[] | null;
  comment: string | null;
  /** `ALTER DATABASE … SET` as stored in pg_db_role_setting: "name=value". */
  settings: string[];
  /** `ALTER ROLE r IN DATABASE … SET`: role → "name=value" list. */
  roleSettings: Record<string, string[]>;
}

/** First line of every plain dump we store: a SQL comment, so the file still runs through psql as is. */
export const HEADER_PREFIX = '-- git-rollback database attributes v1: ';

/** One query that returns the attributes of `datname` as JSON (any server 10+: to_jsonb reads the columns it has). */
export function attributesQuery(datnameLiteral: string): string {
  return `SELECT json_build_object(
  'row', to_jsonb(d) - 'datacl' - 'datfrozenxid' - 'datminmxid',
  'owner', pg_get_userbyid(d.datdba),
  'encoding', pg_encoding_to_char(d.encoding),
  'tablespace', (SELECT spcname FROM pg_tablespace t WHERE t.oid = d.dattablespace),
  'comment', shobj_description(d.oid, 'pg_database'),
  'acl', CASE WHEN d.datacl IS NULL THEN NULL ELSE coalesce((
    SELECT json_agg(json_build_object(
      'grantee', CASE WHEN a.grantee = 0 THEN '' ELSE pg_get_userbyid(a.grantee) END,
      'grantor', pg_get_userbyid(a.grantor), 'privilege', a.privilege_type, 'grantable', a.is_grantable) ORDER BY a.n)
    FROM aclexplode(d.datacl) WITH ORDINALITY AS a(grantor, grantee, privilege_type, is_grantable, n)), '[]'::json) END,
  'settings', (SELECT s.setconfig FROM pg_db_role_setting s WHERE s.setdatabase = d.oid AND s.setrole = 0),
  'roleSettings', (SELECT json_object_agg(pg_get_userbyid(s.setrole), s.setconfig ORDER BY pg_get_userbyid(s.setrole))
    FROM pg_db_role_setting s WHERE s.setdatabase = d.oid AND s.setrole <> 0)
) FROM pg_database d WHERE d.datname = ${datnameLiteral}`;
}

interface RawAttributes {
  row: Record<string, unknown>;
  owner: string;
  encoding: string;
  tablespace: string;
  comment: string | null;
  acl: Array<{ grantee: string; grantor: string; privilege: string; grantable: boolean }> | null;
  settings: string[] | null;
  roleSettings: Record<string, string[]> | null;
}

const PROVIDERS: Record<string, string> = { c: 'libc', i: 'icu', b: 'builtin' };

/** Turns attributesQuery()'s JSON into DbAttributes. */
export function parseAttributes(json: string): DbAttributes {
  const raw = JSON.parse(json) as RawAttributes;
  const row = raw.row;
  const text = (key: string) => (typeof row[key] === 'string' && row[key] !== '' ? (row[key] as string) : undefined);
  const provider = PROVIDERS[text('datlocprovider') ?? 'c'] ?? 'libc';
  const attributes: DbAttributes = {
    owner: raw.owner,
    encoding: raw.encoding,
    localeProvider: provider,
    collate: text('datcollate') ?? '',
    ctype: text('datctype') ?? '',
    tablespace: raw.tablespace,
    connectionLimit: Number(row.datconnlimit ?? -1),
    allowConnections: row.datallowconn !== false,
    isTemplate: row.datistemplate === true,
    acl: raw.acl === null ? null : groupAcl(raw.acl),
    comment: raw.comment,
    settings: raw.settings ?? [],
    roleSettings: raw.roleSettings ?? {},
  };
  const locale = text('datlocale') ?? text('daticulocale');
  if (locale !== undefined && provider !== 'libc') attributes.locale = locale;
  const rules = text('daticurules');
  if (rules !== undefined) attributes.icuRules = rules;
  return attributes;
}

/** aclexplode gives one row per privilege: back to one grant per grantee and grantor, in the ACL's order. */
function groupAcl(rows: NonNullable<RawAttributes['acl']>): AclGrant[] {
  const grants: AclGrant[] = [];
  for (const r of rows) {
    let grant = grants.find((g) => g.grantee === r.grantee && g.grantor === r.grantor);
    if (!grant) {
      grant = { grantee: r.grantee, grantor: r.grantor, privileges: [], grantable: [] };
      grants.push(grant);
    }
    grant.privileges.push(r.privilege);
    if (r.grantable) grant.grantable.push(r.privilege);
  }
  return grants;
}

export function headerLine(attributes: DbAttributes): string {
  // JSON escapes every control character, so the comment stays on one line.
  return `${HEADER_PREFIX}${JSON.stringify(attributes)}\n`;
}

/** The attributes in a header line, or throws when the line is ours but malformed. */
export function parseHeader(line: string): DbAttributes {
  const value = JSON.parse(line.slice(HEADER_PREFIX.length)) as DbAttributes;
  if (typeof value !== 'object' || value === null || typeof value.owner !== 'string' || !Array.isArray(value.settings)) {
    throw new RollbackError(msg('pg.malformedHeader'));
  }
  return value;
}

/**
 * What is safe to show and to keep in the note: everything but setting values
 * and the comment's text. checkRestore() reads it to check roles, tablespace
 * and privileges before any change.
 */
export function attributesSummary(a: DbAttributes): Record<string, unknown> {
  return {
    owner: a.owner,
    encoding: a.encoding,
    localeProvider: a.localeProvider,
    collate: a.collate,
    ctype: a.ctype,
    ...(a.locale !== undefined ? { locale: a.locale } : {}),
    ...(a.icuRules !== undefined ? { icuRules: true } : {}),
    tablespace: a.tablespace,
    connectionLimit: a.connectionLimit,
    allowConnections: a.allowConnections,
    isTemplate: a.isTemplate,
    acl: a.acl,
    comment: a.comment !== null,
    settings: a.settings.map(settingName),
    roleSettings: Object.fromEntries(Object.entries(a.roleSettings).map(([role, items]) => [role, items.map(settingName)])),
  };
}

export function settingName(item: string): string {
  const eq = item.indexOf('=');
  return eq < 0 ? item : item.slice(0, eq);
}

export function settingValue(item: string): string {
  const eq = item.indexOf('=');
  return eq < 0 ? '' : item.slice(eq + 1);
}

export const ident = (name: string): string => `"${name.replace(/"/g, '""')}"`;

/** A string literal that means the same whatever standard_conforming_strings is. */
export function literal(text: string): string {
  const quoted = text.replace(/'/g, "''");
  return text.includes('\\') ? `E'${quoted.replace(/\\/g, '\\\\')}'` : `'${quoted}'`;
}

/** Settings whose stored value is a list of double-quoted items (pg_dump's variable_is_guc_list_quote). */
const LIST_QUOTE = new Set(['local_preload_libraries', 'search_path', 'session_preload_libraries', 'shared_preload_libraries', 'temp_tablespaces', 'unix_socket_directories']);

/**
 * `SET name TO value` for one "name=value" item, as pg_dump writes it
 * (makeAlterConfigCommand): list settings are split back into their items,
 * each a literal; anything else is one literal.
 */
export function setClause(item: string): string {
  const name = settingName(item);
  const value = settingValue(item);
  const values = LIST_QUOTE.has(name.toLowerCase()) ? splitGucList(value) : [value];
  return `SET ${ident(name)} TO ${values.map(literal).join(', ')}`;
}

/** fe_utils' SplitGUCList: comma-separated items, double quotes around items, "" inside them. */
export function splitGucList(value: string): string[] {
  const items: string[] = [];
  let i = 0;
  const skipSpace = () => {
    while (i < value.length && /\s/.test(value[i]!)) i++;
  };
  skipSpace();
  if (i >= value.length) return [];
  for (;;) {
    let item = '';
    if (value[i] === '"') {
      i++;
      for (;;) {
        if (i >= value.length) return [value]; // unbalanced: keep it whole
        if (value[i] === '"') {
          if (value[i + 1] === '"') {
            item += '"';
            i += 2;
            continue;
          }
          i++;
          break;
        }
        item += value[i++];
      }
    } else {
      while (i < value.length && value[i] !== ',' && !/\s/.test(value[i]!)) item += value[i++];
    }
    items.push(item);
    skipSpace();
    if (i >= value.length) return items;
    if (value[i] !== ',') return [value];
    i++;
    skipSpace();
  }
}

/** CREATE DATABASE for the staged copy with the carried owner, encoding, locale and tablespace. */
export function createStatement(name: string, a: DbAttributes, serverMajor: number, owner: string): string {
  const parts = [`CREATE DATABASE ${ident(name)} TEMPLATE template0`, `OWNER ${ident(owner)}`, `ENCODING ${literal(a.encoding)}`];
  if (serverMajor >= 15) parts.push(`LOCALE_PROVIDER ${a.localeProvider}`);
  if (a.localeProvider === 'icu' && a.locale !== undefined) parts.push(`ICU_LOCALE ${literal(a.locale)}`);
  if (a.localeProvider === 'icu' && a.icuRules !== undefined) parts.push(`ICU_RULES ${literal(a.icuRules)}`);
  if (a.localeProvider === 'builtin' && a.locale !== undefined) parts.push(`BUILTIN_LOCALE ${literal(a.locale)}`);
  if (a.collate) parts.push(`LC_COLLATE ${literal(a.collate)}`);
  if (a.ctype) parts.push(`LC_CTYPE ${literal(a.ctype)}`);
  if (a.tablespace && a.tablespace !== 'pg_default') parts.push(`TABLESPACE ${ident(a.tablespace)}`);
  return parts.join(' ');
}

/**
 * Everything else, applied to the staged copy after its data is loaded
 * (settings such as default_transaction_read_only, a revoked CONNECT or
 * ALLOW_CONNECTIONS false would stop the load). `skipRoles` are roles that
 * do not exist here (noOwner): their grants and settings are left out.
 */
export function applyStatements(name: string, a: DbAttributes, owner: string, skipRoles: Set<string> = new Set(), superuser = false): string[] {
  const db = ident(name);
  const out: string[] = [];
  for (const item of a.settings) out.push(`ALTER DATABASE ${db} ${setClause(item)};`);
  for (const [role, items] of Object.entries(a.roleSettings)) {
    if (skipRoles.has(role)) continue;
    for (const item of items) out.push(`ALTER ROLE ${ident(role)} IN DATABASE ${db} ${setClause(item)};`);
  }
  if (a.comment !== null) out.push(`COMMENT ON DATABASE ${db} IS ${literal(a.comment)};`);
  if (a.acl !== null) {
    // From the default ACL to exactly the recorded one: take away PUBLIC's
    // and the owner's implicit rights, then grant each item in order.
    out.push(`REVOKE ALL ON DATABASE ${db} FROM PUBLIC;`, `REVOKE ALL ON DATABASE ${db} FROM ${ident(owner)};`);
    for (const g of a.acl) {
      if (g.grantee !== '' && skipRoles.has(g.grantee)) continue;
      const to = g.grantee === '' ? 'PUBLIC' : ident(g.grantee);
      const plain = g.privileges.filter((p) => !g.grantable.includes(p));
      // A grant made by another role than the owner: a superuser makes it as
      // that role (as pg_dump does), so the grantor is kept; otherwise the
      // owner makes it (checkRestore says so).
      const asGrantor = superuser && g.grantor !== owner && !skipRoles.has(g.grantor);
      if (asGrantor) out.push(`SET ROLE ${ident(g.grantor)};`);
      if (plain.length) out.push(`GRANT ${plain.join(', ')} ON DATABASE ${db} TO ${to};`);
      if (g.grantable.length) out.push(`GRANT ${g.grantable.join(', ')} ON DATABASE ${db} TO ${to} WITH GRANT OPTION;`);
      if (asGrantor) out.push('RESET ROLE;');
    }
  }
  if (a.connectionLimit !== -1) out.push(`ALTER DATABASE ${db} CONNECTION LIMIT ${Math.trunc(a.connectionLimit)};`);
  if (a.isTemplate) out.push(`ALTER DATABASE ${db} IS_TEMPLATE true;`);
  if (!a.allowConnections) out.push(`ALTER DATABASE ${db} ALLOW_CONNECTIONS false;`);
  return out;
}

/** Every role the attributes name (owner, grantees, grantors, role settings). */
export function rolesNamed(summary: { owner?: unknown; acl?: unknown; roleSettings?: unknown }): string[] {
  const roles = new Set<string>();
  if (typeof summary.owner === 'string') roles.add(summary.owner);
  if (Array.isArray(summary.acl)) {
    for (const g of summary.acl as AclGrant[]) {
      if (g.grantee) roles.add(g.grantee);
      if (g.grantor) roles.add(g.grantor);
    }
  }
  if (summary.roleSettings && typeof summary.roleSettings === 'object') for (const role of Object.keys(summary.roleSettings)) roles.add(role);
  return [...roles];
}
