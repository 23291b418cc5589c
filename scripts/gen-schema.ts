// Writes rollback.schema.json, the JSON Schema editors use to complete and
// check .rollbackrc.yaml / .rollbackrc.json, from the one config schema in
// src/core/config.ts. Run after changing the schema: npm run schema
// (test/unit/config.test.ts fails while the committed file is out of date).
import { writeFileSync } from 'node:fs';
import { toJsonSchema } from '@valibot/to-json-schema';
import { ConfigSchema } from '../src/core/config.js';

export function configJsonSchema(): Record<string, unknown> {
  // Checks that JSON Schema cannot say (paths inside the repository, distinct
  // tag prefixes) are left to git-rollback itself: errorMode 'ignore'.
  const schema = toJsonSchema(ConfigSchema, { errorMode: 'ignore' }) as Record<string, unknown>;
  return {
    $schema: 'http://json-schema.org/draft-07/schema#',
    $id: 'https://unpkg.com/@git-rollback/cli/rollback.schema.json',
    title: 'git-rollback configuration',
    ...schema,
  };
}

export const SCHEMA_FILE = new URL('../rollback.schema.json', import.meta.url);

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop() as string)) {
  writeFileSync(SCHEMA_FILE, JSON.stringify(configJsonSchema(), null, 2) + '\n');
  console.log(`wrote ${SCHEMA_FILE.pathname}`);
}
