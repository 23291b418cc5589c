// Encryption at rest with age (https://age-encryption.org, the `age-encryption`
// package by the format's authors: audited noble primitives, no hand-made
// crypto here). Config-file blobs and dump chunks are sealed to the configured
// recipients before they enter the object store; anyone holding one of the
// identities opens them. Sealing is randomised, so unchanged chunks are
// recognised by a keyed hash of their plaintext (HMAC-SHA256 with a shared
// dedup key kept in git, itself sealed to the recipients) and reuse the blob
// an earlier point stored.
import { createHmac, randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { isAbsolute, join, relative, resolve } from 'node:path';
import type { Config, EncryptionConfig } from '../core/config.js';
import { ConfigError, ConflictError, CorruptSnapshotError } from '../core/errors.js';
import { msg, type Msg } from '../core/i18n.js';
import type { ChunkRef, Point } from '../core/types.js';
import type { Git } from './git.js';

/** The ref holding the dedup key, sealed to the recipients (pushed and fetched with the points). */
export const DEDUP_KEY_REF = 'refs/rollback/keys/dedup';
/** Where an identity may be given when the config names none. */
export const DEFAULT_IDENTITY_ENV = 'GIT_ROLLBACK_AGE_IDENTITY';
/** A dedup key given directly (64 hex digits), e.g. to a CI machine that only has recipients. */
export const DEDUP_KEY_ENV = 'GIT_ROLLBACK_DEDUP_KEY';

/** A stored blob known to hold some plaintext (found by its keyed hash). */
export interface KnownBlob {
  blob: string;
  size?: number;
}

/**
 * What the dump store needs to encrypt (src/adapters/dump-store.ts, the
 * "security seam"): a keyed hash for deduplication, a lookup of chunks
 * already stored, and seal/open of one chunk.
 */
export interface ChunkCipher {
  /** HMAC-SHA256 of the plaintext with the dedup key (hex), or null when this machine has none. */
  dedupKey(plain: Buffer): string | null;
  /** A blob an earlier point (or this dump) stored for the same plaintext. */
  lookup(key: string): KnownBlob | undefined;
  /** Records a blob just stored, so a repeat within the same run reuses it. */
  remember(key: string, blob: KnownBlob): void;
  seal(plain: Buffer): Promise<Buffer>;
  /** Throws ConflictError (no identity, or none that fits) or CorruptSnapshotError (damaged). */
  open(stored: Buffer): Promise<Buffer>;
}

type AgeModule = typeof import('age-encryption');
let ageModule: Promise<AgeModule> | undefined;
const age = () => (ageModule ??= import('age-encryption'));

export class AgeCipher implements ChunkCipher {
  private readonly known = new Map<string, KnownBlob>();

  constructor(
    private readonly recipients: readonly string[],
    private readonly identities: readonly string[],
    private readonly dedupSecret: Buffer | null,
    /** Where the identities were looked for, for messages. */
    private readonly identityWhere: string,
  ) {}

  get canOpen(): boolean {
    return this.identities.length > 0;
  }

  get canSeal(): boolean {
    return this.recipients.length > 0;
  }

  get dedups(): boolean {
    return this.dedupSecret !== null;
  }

  dedupKey(plain: Buffer): string | null {
    return this.dedupSecret ? createHmac('sha256', this.dedupSecret).update(plain).digest('hex') : null;
  }

  lookup(key: string): KnownBlob | undefined {
    return this.known.get(key);
  }

  remember(key: string, blob: KnownBlob): void {
    if (!this.known.has(key)) this.known.set(key, blob);
  }

  async seal(plain: Buffer): Promise<Buffer> {
    if (!this.canSeal) throw new ConfigError(msg('crypto.noRecipients'), msg('crypto.noRecipientsHint'));
    const { Encrypter } = await age();
    const e = new Encrypter();
    for (const r of this.recipients) e.addRecipient(r);
    return Buffer.from(await e.encrypt(plain));
  }

  async open(stored: Buffer): Promise<Buffer> {
    if (!this.canOpen) throw noIdentity(this.identityWhere);
    const { Decrypter } = await age();
    const d = new Decrypter();
    for (const i of this.identities) d.addIdentity(i);
    try {
      return Buffer.from(await d.decrypt(stored));
    } catch (error) {
      const message = (error as Error).message;
      if (/no identity matched/i.test(message)) {
        throw new ConflictError(msg('crypto.otherKeys', { where: this.identityWhere }), msg('crypto.otherKeysHint'));
      }
      throw new CorruptSnapshotError(msg('crypto.cannotOpen', { error: message }), msg('crypto.cannotOpenHint'));
    }
  }

  /** Learns the blobs of earlier points from their notes, so unchanged plaintext is not stored again. */
  learn(points: readonly Point[]): void {
    for (const p of points) {
      const s = p.note?.snapshot;
      if (!s) continue;
      for (const f of [...(Array.isArray(s.config) ? s.config : [])]) if (f?.enc && typeof f.key === 'string' && typeof f.blob === 'string') this.remember(f.key, { blob: f.blob });
      for (const d of Array.isArray(s.databases) ? s.databases : []) {
        for (const c of Array.isArray(d?.chunks) ? (d.chunks as ChunkRef[]) : []) {
          if (c?.enc && typeof c.key === 'string' && typeof c.blob === 'string') this.remember(c.key, { blob: c.blob, size: c.size });
        }
      }
    }
  }
}

function noIdentity(where: string | Msg): ConflictError {
  return new ConflictError(msg('crypto.noIdentity', { where }), msg('crypto.noIdentityGive', { env: DEFAULT_IDENTITY_ENV }));
}

/** The identities (AGE-SECRET-KEY-…) in a text: one per line, comments (#) and blank lines ignored. */
export function parseIdentities(text: string): string[] {
  return text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => /^AGE-SECRET-KEY-(PQ-)?1[0-9A-Z]+$/.test(l));
}

/**
 * Identities from the environment variable, then from the key file. A key
 * file inside the repository is refused: it would end up committed or in a
 * snapshot.
 */
export async function loadIdentities(enc: EncryptionConfig | null, root: string, env: NodeJS.ProcessEnv): Promise<{ identities: string[]; where: string }> {
  const envName = enc?.identityEnv ?? DEFAULT_IDENTITY_ENV;
  const places = [`$${envName}`];
  const identities = parseIdentities(env[envName] ?? '');
  if (enc?.identity) {
    const path = enc.identity.startsWith('~/') ? join(homedir(), enc.identity.slice(2)) : isAbsolute(enc.identity) ? enc.identity : resolve(root, enc.identity);
    const rel = relative(root, path);
    if (!rel.startsWith('..') && !isAbsolute(rel)) {
      throw new ConfigError(msg('crypto.identityInRepo', { path: enc.identity }), msg('crypto.identityInRepoHint'));
    }
    places.push(enc.identity);
    const text = await readFile(path, 'utf8').catch((e: NodeJS.ErrnoException) => (e.code === 'ENOENT' ? '' : Promise.reject(e)));
    identities.push(...parseIdentities(text));
  }
  return { identities, where: places.join(' and ') };
}

/**
 * The repository's dedup key: from GIT_ROLLBACK_DEDUP_KEY, else the sealed
 * blob at refs/rollback/keys/dedup opened with our identities; when there is
 * none yet and we can seal, a new random one is made and stored. Null when it
 * exists but this machine cannot open it (no dedup then; still correct).
 */
async function dedupSecret(git: Git, cipher: AgeCipher, env: NodeJS.ProcessEnv, create: boolean): Promise<Buffer | null> {
  const given = env[DEDUP_KEY_ENV];
  if (given) {
    if (!/^[0-9a-f]{64}$/i.test(given)) throw new ConfigError(msg('crypto.dedupKey', { env: DEDUP_KEY_ENV }));
    return Buffer.from(given, 'hex');
  }
  const id = await git.revParse(DEDUP_KEY_REF);
  if (id) {
    if (!cipher.canOpen) return null;
    const blob = (await git.readBlobs([id])).get(id);
    if (!blob) return null;
    try {
      const key = await cipher.open(blob);
      return key.length === 32 ? key : null;
    } catch {
      return null; // sealed to other recipients (before a rotation): no dedup, never an error
    }
  }
  if (!create || !cipher.canSeal) return null;
  const key = randomBytes(32);
  const sealed = await cipher.seal(key);
  const blob = await git.hashBuffer(sealed);
  const r = await git.run(['update-ref', DEDUP_KEY_REF, blob, await git.nullId()], { allowFail: true });
  if (r.exitCode !== 0) return dedupSecret(git, cipher, env, false); // made meanwhile by another run
  return key;
}

/**
 * The cipher for a command: recipients from the config (to seal), identities
 * from the environment or key file (to open), the dedup key, and the blobs of
 * earlier points. Null when the config has no encryption block and no
 * identity is given (nothing to seal, nothing to open).
 */
export async function openCipher(opts: { git: Git; root: string; config: Config; env: NodeJS.ProcessEnv; points?: () => Promise<Point[]>; forWriting: boolean }): Promise<AgeCipher | null> {
  const enc = opts.config.encryption;
  const { identities, where } = await loadIdentities(enc, opts.root, opts.env);
  if (!enc && identities.length === 0) return null;
  const base = new AgeCipher(enc?.recipients ?? [], identities, null, where);
  const secret = await dedupSecret(opts.git, base, opts.env, opts.forWriting && !!enc);
  const cipher = new AgeCipher(enc?.recipients ?? [], identities, secret, where);
  if (opts.forWriting && secret && opts.points) cipher.learn(await opts.points());
  return cipher;
}

/** Whether these entries hold anything encrypted. */
export function anyEncrypted(entries: readonly { enc?: string; chunks?: readonly { enc?: string }[] }[]): boolean {
  return entries.some((e) => e.enc === 'age' || (e.chunks ?? []).some((c) => c.enc === 'age'));
}

export interface Opener {
  ok: boolean;
  reason: string | Msg;
  open(stored: Buffer): Promise<Buffer>;
}

/** For `verify`: an opener for encrypted file entries, or the reason there is none. */
export async function openerFor(ctx: { git: Git; repo: { root: string }; config: Config; env: NodeJS.ProcessEnv }, entries: readonly { enc?: string }[]): Promise<Opener> {
  if (!entries.some((e) => e.enc)) return { ok: true, reason: '', open: async (b) => b };
  const cipher = await openCipher({ git: ctx.git, root: ctx.repo.root, config: ctx.config, env: ctx.env, forWriting: false });
  if (!cipher?.canOpen) {
    const err = noIdentity(cipher ? msg('crypto.configuredPlaces') : `$${DEFAULT_IDENTITY_ENV}`);
    return { ok: false, reason: msg('crypto.cannotCheck', { error: err.msg as Msg }), open: () => Promise.reject(err) };
  }
  return { ok: true, reason: '', open: (b) => cipher.open(b) };
}

/** Makes a new identity (and its recipient) for `git rollback keygen`. */
export async function newIdentity(): Promise<{ identity: string; recipient: string }> {
  const { generateX25519Identity, identityToRecipient } = await age();
  const identity = await generateX25519Identity();
  return { identity, recipient: await identityToRecipient(identity) };
}

/** Checks recipients parse (a typo must fail at config time, not at the first point). */
export async function checkRecipients(recipients: readonly string[]): Promise<void> {
  const { Encrypter } = await age();
  for (const r of recipients) {
    try {
      new Encrypter().addRecipient(r);
    } catch (error) {
      throw new ConfigError(msg('crypto.badRecipient', { recipient: r.slice(0, 20), error: (error as Error).message }), msg('crypto.badRecipientHint'));
    }
  }
}

/**
 * Points whose snapshot holds config files or database dumps in clear, with
 * what is in clear: `push` names them and needs --allow-clear.
 */
export function clearSnapshots(points: readonly Point[]): { tag: string; what: (string | Msg)[] }[] {
  const out: { tag: string; what: (string | Msg)[] }[] = [];
  for (const p of points) {
    const s = p.note?.snapshot;
    if (!s) continue;
    const what: (string | Msg)[] = [
      ...(Array.isArray(s.config) ? s.config : []).filter((f) => f.mode !== '120000' && f.enc !== 'age').map((f) => f.path),
      ...(Array.isArray(s.databases) ? s.databases : []).filter((d) => !(d.chunks ?? []).every((c) => c.enc === 'age') || (d.chunks ?? []).length === 0).map((d) => msg('check.database', { name: d.name })),
    ];
    if (what.length > 0) out.push({ tag: p.tag, what });
  }
  return out;
}
