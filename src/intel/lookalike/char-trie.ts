/**
 * A trie over skeleton characters (`a`-`z`, `0`-`9`) stored as one dense transition table in a typed
 * array, walked one character at a time by the matcher: a step is two array reads, with no allocation
 * and no hashing, which is what the DNS hot path can afford for every label of every query. Characters
 * outside the alphabet (unmapped non-ASCII letters) have no transition: no brand or keyword has them.
 *
 * Node 0 is the root; a child index of 0 means "no child" (the root is nobody's child).
 */
const COLUMNS = 36;

/** Column of a skeleton character, or -1 when no word can contain it. */
function columnOf(code: number): number {
  if (code >= 0x61 && code <= 0x7a) return code - 0x61;
  if (code >= 0x30 && code <= 0x39) return code - 0x30 + 26;
  return -1;
}

export class CharTrie<T> {
  private next = new Int32Array(COLUMNS * 64);
  private readonly values: (T | undefined)[] = [undefined];
  private nodes = 1;
  size = 0;

  /** Adds `word`; an existing value for the same word is kept (first writer wins). A word with a
   * character outside the alphabet cannot occur in a skeleton and is ignored. */
  add(word: string, value: T): void {
    let node = 0;
    for (let k = 0; k < word.length; k++) {
      const column = columnOf(word.charCodeAt(k));
      if (column < 0) return;
      let child = this.next[node * COLUMNS + column] ?? 0;
      if (child === 0) {
        child = this.newNode();
        this.next[node * COLUMNS + column] = child;
      }
      node = child;
    }
    if (this.values[node] === undefined) {
      this.values[node] = value;
      this.size++;
    }
  }

  /** The value stored for exactly `word`. */
  get(word: string): T | undefined {
    let node = 0;
    for (let k = 0; k < word.length && node >= 0; k++) node = this.step(node, word.charCodeAt(k));
    return node < 0 ? undefined : this.values[node];
  }

  /** The child of `node` by character `code`, or -1. Start from node 0 (the root). */
  step(node: number, code: number): number {
    const column = columnOf(code);
    if (column < 0) return -1;
    const child = this.next[node * COLUMNS + column] ?? 0;
    return child === 0 ? -1 : child;
  }

  /** The value of a word that ends exactly at `node`. */
  valueAt(node: number): T | undefined {
    return this.values[node];
  }

  private newNode(): number {
    if ((this.nodes + 1) * COLUMNS > this.next.length) {
      const grown = new Int32Array(this.next.length * 2);
      grown.set(this.next);
      this.next = grown;
    }
    this.values.push(undefined);
    return this.nodes++;
  }
}
