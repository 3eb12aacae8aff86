/**
 * A trie over UTF-16 code units, walked one character at a time by the matcher so that finding every
 * brand or keyword starting at a position costs no allocation (the DNS hot path runs it per query).
 */
export class CharTrieNode<T> {
  readonly children = new Map<number, CharTrieNode<T>>();
  value: T | undefined = undefined;
}

export class CharTrie<T> {
  readonly root = new CharTrieNode<T>();
  size = 0;

  /** Adds `word`; an existing value for the same word is kept (first writer wins). */
  add(word: string, value: T): void {
    let node = this.root;
    for (let k = 0; k < word.length; k++) {
      const code = word.charCodeAt(k);
      let next = node.children.get(code);
      if (next === undefined) {
        next = new CharTrieNode<T>();
        node.children.set(code, next);
      }
      node = next;
    }
    if (node.value === undefined) {
      node.value = value;
      this.size++;
    }
  }

  /** The value stored for exactly `word`. */
  get(word: string): T | undefined {
    let node: CharTrieNode<T> | undefined = this.root;
    for (let k = 0; k < word.length && node !== undefined; k++) node = node.children.get(word.charCodeAt(k));
    return node?.value;
  }
}
