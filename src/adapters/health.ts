// Health checks after a rollback: an HTTP URL that must answer 2xx/3xx, or a
// command that must exit 0, retried at an interval.
import type { HealthConfig } from '../core/config.js';

export interface HealthResult {
  ok: boolean;
  attempts: number;
  detail: string;
  ms: number;
}

export async function checkHealth(h: HealthConfig, cwd: string): Promise<HealthResult> {
  const started = Date.now();
  let detail = '';
  const attempts = Math.max(1, h.retries);
  for (let i = 1; i <= attempts; i++) {
    try {
      if (h.url) {
        const res = await fetch(h.url, { signal: AbortSignal.timeout(h.timeoutMs), redirect: 'manual' });
        detail = `${h.url} answered ${res.status}`;
        if (res.status < 400) return { ok: true, attempts: i, detail, ms: Date.now() - started };
      } else if (h.command) {
        const { execa } = await import('execa');
        const r = await execa('sh', ['-c', h.command], { cwd, reject: false, timeout: h.timeoutMs, all: true });
        detail = `\`${h.command}\` exited ${r.exitCode ?? 'on a signal'}`;
        if (r.exitCode === 0) return { ok: true, attempts: i, detail, ms: Date.now() - started };
      }
    } catch (error) {
      detail = `${h.url ?? h.command}: ${(error as Error).message}`;
    }
    if (i < attempts) await new Promise((r) => setTimeout(r, h.intervalMs));
  }
  return { ok: false, attempts, detail, ms: Date.now() - started };
}
