// A PostgreSQL database's observable state, for "exactly as it was" checks
// after a restore: schema (pg_dump --schema-only, normalised), data (rows and
// a checksum per table, every schema), and the database-level state pg_dump
// leaves out without --create, read from the catalogs. Two fingerprints are
// equal when an application could not tell the databases apart.
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { psql, serverUrl } from './servers.js';

function pgDumpSchema(database: string): string {
  const url = serverUrl('PG');
  const text = execFileSync('pg_dump', ['-w', '--schema-only', '-d', `postgresql://${url.username}@${url.hostname}:${url.port}/${database}`], {
    env: { ...process.env, PGPASSWORD: decodeURIComponent(url.password) },
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
  });
  // pg_dump's random \restrict key and version comments differ between two dumps of one database.
  return text
    .split('\n')
    .filter((line) => !/^\\(un)?restrict /.test(line) && !/^-- Dumped (from|by) /.test(line))
    .join('\n');
}

const sqlText = (name: string) => `'${name.replace(/'/g, "''")}'`;

/** Database-level attributes, by name (not oid), as the catalogs hold them. */
export function pgDatabaseAttributes(database: string): Record<string, string> {
  const d = `(SELECT oid FROM pg_database WHERE datname = ${sqlText(database)})`;
  const q = (sql: string) => psql('postgres', sql);
  const cols = q("SELECT string_agg(attname, ',') FROM pg_attribute WHERE attrelid = 'pg_database'::regclass AND attnum > 0");
  const locale = cols.includes('datlocale') ? 'datlocale' : cols.includes('daticulocale') ? 'daticulocale' : "''";
  const provider = cols.includes('datlocprovider') ? 'datlocprovider' : "'c'";
  return {
    owner: q(`SELECT pg_get_userbyid(datdba) FROM pg_database WHERE oid = ${d}`),
    encoding: q(`SELECT pg_encoding_to_char(encoding) FROM pg_database WHERE oid = ${d}`),
    locale: q(`SELECT ${provider}::text || ' ' || coalesce(${locale}, '') || ' ' || datcollate || ' ' || datctype FROM pg_database WHERE oid = ${d}`),
    tablespace: q(`SELECT spcname FROM pg_tablespace WHERE oid = (SELECT dattablespace FROM pg_database WHERE oid = ${d})`),
    acl: q(`SELECT coalesce(datacl::text, 'default') FROM pg_database WHERE oid = ${d}`),
    connectionLimit: q(`SELECT datconnlimit FROM pg_database WHERE oid = ${d}`),
    allowConnections: q(`SELECT datallowconn FROM pg_database WHERE oid = ${d}`),
    isTemplate: q(`SELECT datistemplate FROM pg_database WHERE oid = ${d}`),
    comment: q(`SELECT coalesce(shobj_description(${d}, 'pg_database'), '<none>')`),
    settings: q(
      `SELECT coalesce(string_agg(coalesce(pg_get_userbyid(NULLIF(setrole, 0)), '*') || ': ' || array_to_string(setconfig, ' | '), E'\\n' ORDER BY 1), '') FROM pg_db_role_setting WHERE setdatabase = ${d}`,
    ),
  };
}

/**
 * Everything at once. A closed database (ALLOW_CONNECTIONS false: a parked
 * copy) is opened just for the reading and closed again.
 */
export function pgFingerprint(database: string): Record<string, string> {
  const attributes = pgDatabaseAttributes(database);
  const closed = attributes.allowConnections === 'f';
  if (closed) psql('postgres', `ALTER DATABASE "${database}" ALLOW_CONNECTIONS true`);
  try {
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(attributes)) out[`database ${k}`] = v;
    out.schema = createHash('sha256').update(pgDumpSchema(database)).digest('hex');
    const tables = psql(
      database,
      `SELECT format('%I.%I', schemaname, tablename) FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1`,
    ).split('\n').filter(Boolean);
    for (const t of tables) {
      // Superusers bypass row level security: every row counts.
      out[`table ${t}`] = psql(database, `SELECT count(*) || ' ' || coalesce(md5(string_agg(x::text, '|' ORDER BY x::text COLLATE "C")), '') FROM ${t} x`);
    }
    out.sequences = psql(database, "SELECT coalesce(string_agg(schemaname || '.' || sequencename || '=' || coalesce(last_value, 0), ',' ORDER BY 1), '') FROM pg_sequences");
    return out;
  } finally {
    if (closed) psql('postgres', `ALTER DATABASE "${database}" ALLOW_CONNECTIONS false`);
  }
}
