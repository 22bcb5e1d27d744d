import { badRequest } from '../errors.js';

/**
 * The one rule for text that reaches the database: PostgreSQL stores neither U+0000 (in text or
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

/** The path of the first string (or key) in `value` that cannot be stored, or null. Iterative: any depth. */
export function unstorablePath(value: unknown, base: string): string | null {
  const stack: [unknown, string][] = [[value, base]];
  while (stack.length > 0) {
    const [v, path] = stack.pop()!;
    if (typeof v === 'string') {
      if (!isStorableText(v)) return path;
    } else if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--) stack.push([v[i], `${path}.${i}`]);
    } else if (v !== null && typeof v === 'object') {
      const keys = Object.keys(v);
      for (let i = keys.length - 1; i >= 0; i--) {
        const k = keys[i];
        if (!isStorableText(k)) return `${path}.${JSON.stringify(k).slice(1, -1)}`;
        stack.push([(v as Record<string, unknown>)[k], `${path}.${k}`]);
      }
    }
  }
  return null;
}

/** Refuses a request part (`body`, `query`, `params`) holding text that cannot be stored. */
export function requireStorable(value: unknown, part: string): void {
  const path = unstorablePath(value, part);
  if (path !== null) throw badRequest(`the request ${part} ${PROBLEM}`, [{ path, message: PROBLEM }]);
}
