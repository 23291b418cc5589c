// Preloaded by bench/lib.ts rollbackTree(): writes the process's own peak RSS
// (KiB, getrusage RUSAGE_SELF) to $BENCH_SELF_RSS_FILE when it exits.
import { writeFileSync } from 'node:fs';

const file = process.env.BENCH_SELF_RSS_FILE;
if (file) {
  delete process.env.BENCH_SELF_RSS_FILE;
  process.on('exit', () => {
    try {
      writeFileSync(file, String(process.resourceUsage().maxRSS));
    } catch {
      // the measurement is optional
    }
  });
}
