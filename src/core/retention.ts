// Which points `prune` removes. Pure: takes the points, the policy and "now",
// returns what to keep (with the reason) and what to remove.
import { parseDuration } from './duration.js';
import type { Point, PointKind } from './types.js';

export interface RetentionPolicy {
  keepLast: number | null;
  keepWithin: string | null;
  keepReleases: boolean;
  /** Only consider these kinds; default: point, backup, deploy (and release when keepReleases is off). */
  kinds?: PointKind[];
}

export interface PruneDecision {
  point: Point;
  keep: boolean;
  reason: string;
}

/**
 * Decides per point, newest first. A point is kept when any rule keeps it:
 * protected, a release (keepReleases), among the newest keepLast of its kind,
 * younger than keepWithin, or the backup that `undo` would return to.
 * Without keepLast and keepWithin nothing is removed: prune never guesses.
 */
export function decidePrune(points: readonly Point[], policy: RetentionPolicy, now: Date, undoBackup: string | null): PruneDecision[] {
  const withinMs = policy.keepWithin ? parseDuration(policy.keepWithin) : null;
  const kinds = policy.kinds ?? (['point', 'backup', 'deploy', ...(policy.keepReleases ? [] : ['release'])] as PointKind[]);
  const sorted = [...points].sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime() || b.id.localeCompare(a.id));
  const seen = new Map<PointKind, number>();
  return sorted.map((point): PruneDecision => {
    const rank = (seen.get(point.kind) ?? 0) + 1;
    seen.set(point.kind, rank);
    if (!kinds.includes(point.kind)) return { point, keep: true, reason: point.kind === 'release' ? 'release' : `kind ${point.kind} not pruned` };
    if (point.note?.protected) return { point, keep: true, reason: 'protected' };
    // Whether it was protected cannot be read: kept, never guessed.
    if (point.noteProblem) return { point, keep: true, reason: 'its note is damaged' };
    if (point.tag === undoBackup) return { point, keep: true, reason: 'the backup `undo` returns to' };
    if (policy.keepLast === null && withinMs === null) return { point, keep: true, reason: 'no retention rule set' };
    if (policy.keepLast !== null && rank <= policy.keepLast) return { point, keep: true, reason: `newest ${policy.keepLast} ${point.kind}s` };
    if (withinMs !== null && now.getTime() - point.createdAt.getTime() <= withinMs) return { point, keep: true, reason: `within ${policy.keepWithin}` };
    return { point, keep: false, reason: policy.keepLast !== null ? `older than the newest ${policy.keepLast}${withinMs !== null ? ` and than ${policy.keepWithin}` : ''}` : `older than ${policy.keepWithin}` };
  });
}
