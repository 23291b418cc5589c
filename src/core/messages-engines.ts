// Catalog entries (English and Simplified Chinese) for the database engines (src/adapters/engines/): errors, hints, restore strategies, plan notes.
// Part of the one catalog in messages.ts; same rules: {name} parameters, { one, other } plurals.
import type { Entry } from './i18n.js';

export const engineMessages = {
} as const satisfies Record<string, Entry>;
