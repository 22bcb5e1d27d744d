import type { PointRequest } from '../db/point.js';

/**
 * The minRevision a field was asked with, carried by the objects it returns (under a symbol,
 * which GraphQL never serialises), so that the fields nested under it read at that revision or a
 * later one too: `user(userId, minRevision) { chats { items { trainingEligibility } } }` reads
 * every level with the write it names.
 */
const MIN_REVISION = Symbol('minRevision');

/** `obj`, carrying `minRevision` for the fields nested under it (the object itself when there is none). */
export function carrying<T extends object>(obj: T, minRevision: string | undefined): T {
  if (minRevision === undefined) return obj;
  return { ...obj, [MIN_REVISION]: minRevision };
}

/** The minRevision the field that returned `obj` was asked with. */
export function carriedBy(obj: unknown): string | undefined {
  return (obj as { [MIN_REVISION]?: string } | null)?.[MIN_REVISION];
}

/** The highest of the revisions given (decimal strings), or undefined when none is. */
export function highest(revisions: Iterable<string | undefined>): string | undefined {
  let top: bigint | undefined;
  for (const r of revisions) if (r !== undefined && (top === undefined || BigInt(r) > top)) top = BigInt(r);
  return top?.toString();
}

/** A read now at `minRevision` or later (or plain now). */
export const nowAt = (minRevision: string | undefined, where = 'args'): PointRequest =>
  minRevision === undefined ? { kind: 'now' } : { kind: 'now', minRevision, where };
