import { badRequest } from '../errors.js';

/**
 * The one rule for what reaches the database: PostgreSQL stores neither U+0000 (in text or
 * jsonb) nor an unpaired UTF-16 surrogate (not UTF-8 at all), and its timestamps and bigints have
 * ranges narrower than JavaScript's. Text is checked where requests enter (the JSON body at any
 * depth, keys included, the query string and the path), so no route can forget it; ranges are in
 * the schemas (`Timestamp`, `Revision` in schemas.ts). A request that breaks the rule is 400
 * VALIDATION_FAILED naming the field, never a 500 from the database.
 */
export function isStorableText(s: string): boolean {
  return s.isWellFormed() && !s.includes('\u0000');
}

const PROBLEM = 'contains U+0000 or an unpaired surrogate, which cannot be stored';
/**
 * No request of the API nests more than a few levels; deeper JSON is refused before any code that
 * recurses over it (validation, canonical JSON, storage) can run out of stack.
 */
export const MAX_DEPTH = 32;
const TOO_DEEP = `nests objects and arrays more than ${MAX_DEPTH} levels deep`;

/** The first place in `value` that cannot be stored, or null. Iterative: any depth. */
export function unstorable(value: unknown, base: string): { path: string; message: string } | null {
  const stack: [unknown, string, number][] = [[value, base, 0]];
  while (stack.length > 0) {
    const [v, path, depth] = stack.pop()!;
    if (typeof v === 'string') {
      if (!isStorableText(v)) return { path, message: PROBLEM };
    } else if (v !== null && typeof v === 'object') {
      if (depth >= MAX_DEPTH) return { path, message: TOO_DEEP };
      if (Array.isArray(v)) {
        for (let i = v.length - 1; i >= 0; i--) stack.push([v[i], `${path}.${i}`, depth + 1]);
      } else {
        const keys = Object.keys(v);
        for (let i = keys.length - 1; i >= 0; i--) {
          const k = keys[i];
          if (!isStorableText(k)) return { path: `${path}.${JSON.stringify(k).slice(1, -1)}`, message: PROBLEM };
          stack.push([(v as Record<string, unknown>)[k], `${path}.${k}`, depth + 1]);
        }
      }
    }
  }
  return null;
}

/** Refuses a request part (`body`, `query`, `params`) holding text that cannot be stored, or nested too deeply. */
export function requireStorable(value: unknown, part: string): void {
  const found = unstorable(value, part);
  if (found !== null) throw badRequest(`the request ${part} ${found.message}`, [found]);
}
