/** Interest scores of a user profile (src/ports/profile-store.ts). Pure. */

/** Merges score deltas into interests: clamp to [0, 1], drop zeros, keep the top `max`. */
export function mergeInterests(
  current: Readonly<Record<string, number>>,
  deltas: Readonly<Record<string, number>>,
  max: number,
): Record<string, number> {
  const next = new Map(Object.entries(current));
  for (const [k, d] of Object.entries(deltas)) {
    const v = Math.min(1, Math.max(0, (next.get(k) ?? 0) + d));
    next.set(k, Math.round(v * 1e6) / 1e6);
  }
  const kept = [...next.entries()]
    .filter(([, v]) => v > 0)
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
    .slice(0, max);
  return Object.fromEntries(kept.sort((a, b) => (a[0] < b[0] ? -1 : 1)));
}
