// A PostgreSQL database's observable state, for "exactly as it was" checks
// after a restore: data (rows and a checksum per table, every schema),
// schema objects, a normalised `pg_dump --schema-only`, and the
// database-level state pg_dump leaves out without --create, read from the
// catalogs. Two fingerprints are equal when an application could not tell the
// databases apart. Each part is one round trip (psql costs ~0.1 s a call on a
// busy machine, and the tests take many fingerprints).
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
  const cols = psql('postgres', "SELECT string_agg(attname, ',') FROM pg_attribute WHERE attrelid = 'pg_database'::regclass AND attnum > 0");
  const locale = cols.includes('datlocale') ? 'datlocale' : cols.includes('daticulocale') ? 'daticulocale' : "''";
  const provider = cols.includes('datlocprovider') ? 'datlocprovider::text' : "'c'";
  const json = psql(
    'postgres',
    `SELECT json_build_object(
      'owner', pg_get_userbyid(datdba),
      'encoding', pg_encoding_to_char(encoding),
      'locale', ${provider} || ' ' || coalesce(${locale}, '') || ' ' || datcollate || ' ' || datctype,
      'tablespace', (SELECT spcname FROM pg_tablespace t WHERE t.oid = dattablespace),
      'acl', coalesce(datacl::text, 'default'),
      'connectionLimit', datconnlimit::text,
      'allowConnections', CASE WHEN datallowconn THEN 't' ELSE 'f' END,
      'isTemplate', CASE WHEN datistemplate THEN 't' ELSE 'f' END,
      'comment', coalesce(shobj_description(oid, 'pg_database'), '<none>'),
      'settings', (SELECT coalesce(string_agg(coalesce(pg_get_userbyid(NULLIF(setrole, 0)), '*') || ': ' || array_to_string(setconfig, ' | '), E'\\n' ORDER BY 1), '')
                   FROM pg_db_role_setting WHERE setdatabase = ${d})
    ) FROM pg_database WHERE oid = ${d}`,
  );
  return JSON.parse(json) as Record<string, string>;
}

/** Per table (every schema) its row count and the md5 of its rows; columns, views, sequences, triggers, functions: in one query. */
function data(database: string): Record<string, string> {
  const userSchemas = "NOT IN ('pg_catalog', 'information_schema')";
  const json = psql(
    database,
    `SELECT coalesce(json_object_agg(k, v ORDER BY k), '{}') FROM (
      SELECT 'table ' || format('%I.%I', schemaname, tablename) AS k,
        (xpath('/row/c/text()', query_to_xml(format(
          'SELECT count(*) || '' '' || coalesce(md5(string_agg(x::text, ''|'' ORDER BY x::text COLLATE "C")), '''') AS c FROM %I.%I x', schemaname, tablename), false, true, '')))[1]::text AS v
      FROM pg_tables WHERE schemaname ${userSchemas}
      UNION ALL
      SELECT 'columns ' || format('%I.%I', table_schema, table_name), string_agg(column_name || ':' || data_type, ',' ORDER BY ordinal_position)
      FROM information_schema.columns WHERE table_schema ${userSchemas} GROUP BY table_schema, table_name
      UNION ALL
      SELECT 'views', coalesce(string_agg(format('%I.%I', table_schema, table_name), ',' ORDER BY 1), '') FROM information_schema.views WHERE table_schema ${userSchemas}
      UNION ALL
      SELECT 'sequences', coalesce(string_agg(schemaname || '.' || sequencename || '=' || coalesce(last_value, 0), ',' ORDER BY 1), '') FROM pg_sequences
      UNION ALL
      SELECT 'triggers', coalesce(string_agg(tgname, ',' ORDER BY tgname), '') FROM pg_trigger WHERE NOT tgisinternal
      UNION ALL
      SELECT 'functions', coalesce(string_agg(p.oid::regprocedure::text, ',' ORDER BY 1), '') FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname ${userSchemas}
    ) s`,
  );
  return JSON.parse(json) as Record<string, string>;
}

/** Runs `read` on a database, opening a closed one (ALLOW_CONNECTIONS false: a parked copy) just for it. */
function opened<T>(database: string, closed: boolean, read: () => T): T {
  if (closed) psql('postgres', `ALTER DATABASE "${database}" ALLOW_CONNECTIONS true`);
  try {
    return read();
  } finally {
    if (closed) psql('postgres', `ALTER DATABASE "${database}" ALLOW_CONNECTIONS false`);
  }
}

const isClosed = (database: string) => psql('postgres', `SELECT NOT datallowconn FROM pg_database WHERE datname = ${sqlText(database)}`) === 't';

/** Rows and schema objects only (cheap): what changes between the states the tests make. */
export function pgData(database: string): Record<string, string> {
  return opened(database, isClosed(database), () => data(database));
}

/** Everything: database attributes, schema (pg_dump --schema-only, normalised), data. */
export function pgFingerprint(database: string): Record<string, string> {
  const attributes = pgDatabaseAttributes(database);
  return opened(database, attributes.allowConnections === 'f', () => {
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(attributes)) out[`database ${k}`] = v;
    out.schema = createHash('sha256').update(pgDumpSchema(database)).digest('hex');
    return { ...out, ...data(database) };
  });
}
