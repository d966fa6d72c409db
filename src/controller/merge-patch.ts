/**
 * The JSON merge patch (RFC 7386) that turns `before` into `after`: changed and added
 * keys with their new values, removed keys as null, arrays and scalars replaced whole.
 * Returns undefined when nothing changed, so an unchanged status costs no write.
 */
export function mergePatchDiff(before: unknown, after: unknown): unknown {
  if (isPlainObject(before) && isPlainObject(after)) {
    const patch: Record<string, unknown> = {};
    for (const key of Object.keys(before)) {
      if (!(key in after) || after[key] === undefined) {
        if (before[key] !== undefined) patch[key] = null;
      }
    }
    for (const [key, value] of Object.entries(after)) {
      if (value === undefined) continue;
      const diff = key in before ? mergePatchDiff(before[key], value) : value;
      if (diff !== undefined) patch[key] = diff;
    }
    return Object.keys(patch).length > 0 ? patch : undefined;
  }
  return deepEqual(before, after) ? undefined : after;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b)) {
    return a.length === b.length && a.every((item, i) => deepEqual(item, b[i]));
  }
  if (isPlainObject(a) && isPlainObject(b)) {
    const keysA = Object.keys(a).filter((k) => a[k] !== undefined);
    const keysB = Object.keys(b).filter((k) => b[k] !== undefined);
    return keysA.length === keysB.length && keysA.every((key) => deepEqual(a[key], b[key]));
  }
  return false;
}

/** The value as it reads back after a merge patch: null fields are gone. */
export function withoutNulls(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutNulls);
  if (isPlainObject(value)) {
    return Object.fromEntries(
      Object.entries(value)
        .filter(([, v]) => v !== null && v !== undefined)
        .map(([k, v]) => [k, withoutNulls(v)]),
    );
  }
  return value;
}
