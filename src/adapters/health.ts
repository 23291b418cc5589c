// Health checks after a rollback: an HTTP URL that must answer 2xx/3xx, or a
// command that must exit 0, retried at an interval.
import type { HealthConfig } from '../core/config.js';
import { english, msg, type Msg } from '../core/i18n.js';

export interface HealthResult {
  ok: boolean;
  attempts: number;
  /** English (event log, JSON). */
  detail: string;
  /** The same, in the catalog's terms. */
  local: Msg | string;
  ms: number;
}

export async function checkHealth(h: HealthConfig, cwd: string): Promise<HealthResult> {
  const started = Date.now();
  let local: Msg | string = '';
  const result = (ok: boolean, attempts: number): HealthResult => ({ ok, attempts, detail: english(local), local, ms: Date.now() - started });
  const attempts = Math.max(1, h.retries);
  for (let i = 1; i <= attempts; i++) {
    try {
      if (h.url) {
        const res = await fetch(h.url, { signal: AbortSignal.timeout(h.timeoutMs), redirect: 'manual' });
        local = msg('health.answered', { url: h.url, status: res.status });
        if (res.status < 400) return result(true, i);
      } else if (h.command) {
        const { execa } = await import('execa');
        const r = await execa('sh', ['-c', h.command], { cwd, reject: false, timeout: h.timeoutMs, all: true });
        local = r.exitCode === undefined ? msg('health.signal', { command: h.command }) : msg('health.exited', { command: h.command, code: r.exitCode });
        if (r.exitCode === 0) return result(true, i);
      }
    } catch (error) {
      local = `${h.url ?? h.command}: ${(error as Error).message}`;
    }
    if (i < attempts) await new Promise((r) => setTimeout(r, h.intervalMs));
  }
  return result(false, attempts);
}
