/** Maps of sets, as the index groups pods by namespace and by node, and Services by namespace. */

/** The set under `key`, made empty when there is none. */
export function setIn<K, T>(map: Map<K, Set<T>>, key: K): Set<T> {
  let s = map.get(key);
  if (s === undefined) {
    s = new Set();
    map.set(key, s);
  }
  return s;
}

/** Removes `item` from the set under `key`, and the set when it empties. */
export function deleteIn<K, T>(map: Map<K, Set<T>>, key: K, item: T): void {
  const s = map.get(key);
  if (s === undefined) return;
  s.delete(item);
  if (s.size === 0) map.delete(key);
}
