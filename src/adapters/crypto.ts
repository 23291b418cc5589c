// Encryption at rest (placeholder until the age cipher lands).
import type { Context } from '../app/context.js';

export interface Opener {
  ok: boolean;
  reason: string;
  open(stored: Buffer): Promise<Buffer>;
}

export async function openerFor(_ctx: Context, entries: readonly { enc?: string }[]): Promise<Opener> {
  const needed = entries.some((e) => e.enc);
  return { ok: !needed, reason: 'encrypted, and no identity is configured', open: async (b) => b };
}
