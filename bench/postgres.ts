// Benchmark: databases (issue 3). Work in progress.
export async function main(_argv: readonly string[]): Promise<void> {
  process.stderr.write('bench: postgres benchmark not written yet\n');
}
