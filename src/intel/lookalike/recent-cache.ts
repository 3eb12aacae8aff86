/**
 * A bounded map that keeps recently used entries: two generations of at most `capacity / 2` entries
 * each; when the young one is full it becomes the old one and the previous old one is dropped, and a
 * hit in the old generation is copied into the young one. This approximates least-recently-used
 * eviction with two Map operations per access (no linked list to update on every hit), so the DNS hot
 * path can afford it on every query, and memory stays bounded whatever names a client asks for (a
 * flood of random subdomains only cycles the generations).
 */
export class RecentCache<K, V> {
  private young = new Map<K, V>();
  private old = new Map<K, V>();
  private readonly generation: number;

  constructor(capacity: number) {
    this.generation = Math.floor(capacity / 2);
  }

  get(key: K): V | undefined {
    const hit = this.young.get(key);
    if (hit !== undefined || this.generation === 0) return hit;
    const aged = this.old.get(key);
    if (aged !== undefined) this.set(key, aged);
    return aged;
  }

  set(key: K, value: V): void {
    if (this.generation === 0) return;
    if (this.young.size >= this.generation) {
      this.old = this.young;
      this.young = new Map();
    }
    this.young.set(key, value);
  }

  /** Entries held (both generations; a key may be counted twice). */
  get size(): number {
    return this.young.size + this.old.size;
  }
}
