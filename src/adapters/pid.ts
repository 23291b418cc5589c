// Whether a process of this host still exists: signal 0 checks without sending.
// Anything but "no such process" (EPERM: another user's) counts as alive, so a
// caller never removes what a living process may still use.
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as { code?: string }).code !== 'ESRCH';
  }
}
