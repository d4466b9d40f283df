// A byte-level Aho-Corasick automaton for the secret masker. Written here rather than taken from npm:
// the maintained packages (modern-ahocorasick, @monyone/aho-corasick, ahocorasick) match JavaScript
// strings and take the whole text at once, while job output arrives as Buffers in arbitrary chunks
// that may split a UTF-8 character or a secret; the masker needs the automaton's state to carry over
// from one chunk to the next and the depth of that state (how much could still become a match).
//
// The trie is stored in typed arrays (first child / next sibling lists, a direct table at the root),
// about 21 bytes per pattern byte, so six 130 KB secrets and their encodings stay in tens of MB.
// Matching costs amortised O(1) per byte whatever the patterns are: the classic bound, since every
// failure-link step gives back depth that an earlier byte added.

/** Above this many children a node gets a row (at most one per branching node: patterns - 1 rows). */
const ROW_CHILDREN = 4;
/** Complete-transition rows: nodes up to this depth, at most DFA_ROWS of them (1 KiB each). */
const DFA_DEPTH = 3;
const DFA_ROWS = 4096;

export class ByteAutomaton {
  private readonly firstChild: Int32Array;
  private readonly nextSibling: Int32Array;
  private readonly label: Uint8Array;
  private readonly fail: Int32Array;
  private readonly depthOf: Int32Array;
  /** Length of the longest pattern that is a suffix of the node's string (0: none). */
  private readonly matchOf: Int32Array;
  private readonly rootNext = new Int32Array(256);
  /** Nodes with many children look them up in a 256-entry row (a sibling walk there is the slow path). */
  private rowOf: Int32Array = new Int32Array(0);
  private rows: Int32Array = new Int32Array(0);
  /**
   * Complete transitions (failure links folded in) for the root and the shallowest nodes, where
   * ordinary output spends its time: one lookup per byte there instead of a child miss and a
   * failure step. Row 0 is unused; dfaRowOf[0] is the root's row.
   */
  private dfaRowOf: Int32Array = new Int32Array(0);
  private dfa: Int32Array = new Int32Array(0);
  private nodes = 1;
  readonly patterns: number;

  constructor(patterns: readonly Buffer[]) {
    const list = patterns.filter((p) => p.length > 0);
    this.patterns = list.length;
    const capacity = 1 + list.reduce((n, p) => n + p.length, 0);
    this.firstChild = new Int32Array(capacity);
    this.nextSibling = new Int32Array(capacity);
    this.label = new Uint8Array(capacity);
    this.fail = new Int32Array(capacity);
    this.depthOf = new Int32Array(capacity);
    this.matchOf = new Int32Array(capacity);
    for (const p of list) this.insert(p);
    this.index();
    this.link();
  }

  /** Node 0 is the root; it is never anyone's child, so 0 also means "no such child". */
  private child(node: number, byte: number): number {
    if (node === 0) return this.rootNext[byte] ?? 0;
    const row = this.rowOf[node] ?? 0;
    if (row !== 0) return this.rows[row * 256 + byte] ?? 0;
    for (let c = this.firstChild[node] ?? 0; c !== 0; c = this.nextSibling[c] ?? 0) {
      if (this.label[c] === byte) return c;
    }
    return 0;
  }

  private insert(p: Buffer): void {
    let node = 0;
    for (const byte of p) {
      let next = this.child(node, byte);
      if (next === 0) {
        next = this.nodes++;
        this.label[next] = byte;
        this.depthOf[next] = (this.depthOf[node] ?? 0) + 1;
        if (node === 0) {
          this.rootNext[byte] = next;
        } else {
          this.nextSibling[next] = this.firstChild[node] ?? 0;
          this.firstChild[node] = next;
        }
      }
      node = next;
    }
    this.matchOf[node] = p.length;
  }

  private index(): void {
    const many: number[] = [];
    for (let n = 1; n < this.nodes; n++) {
      let count = 0;
      for (let c = this.firstChild[n] ?? 0; c !== 0 && count <= ROW_CHILDREN; c = this.nextSibling[c] ?? 0) count++;
      if (count > ROW_CHILDREN) many.push(n);
    }
    this.rowOf = new Int32Array(this.nodes);
    // Row 0 is unused, so 0 in rowOf means "no row".
    this.rows = new Int32Array((many.length + 1) * 256);
    many.forEach((n, i) => {
      this.rowOf[n] = i + 1;
      for (let c = this.firstChild[n] ?? 0; c !== 0; c = this.nextSibling[c] ?? 0) this.rows[(i + 1) * 256 + (this.label[c] ?? 0)] = c;
    });
  }

  /** Failure links and match lengths, breadth first (a node's failure target is shallower). */
  private link(): void {
    const queue = new Int32Array(this.nodes);
    let head = 0;
    let tail = 0;
    for (let b = 0; b < 256; b++) {
      const c = this.rootNext[b] ?? 0;
      if (c !== 0) queue[tail++] = c;
    }
    while (head < tail) {
      const u = queue[head++] ?? 0;
      for (let v = this.firstChild[u] ?? 0; v !== 0; v = this.nextSibling[v] ?? 0) {
        this.fail[v] = this.step(this.fail[u] ?? 0, this.label[v] ?? 0);
        if (this.matchOf[v] === 0) this.matchOf[v] = this.matchOf[this.fail[v] ?? 0] ?? 0;
        queue[tail++] = v;
      }
    }
    this.complete(queue, tail);
  }

  /** Builds the complete rows in breadth-first order: a node's failure target (shallower) is done first. */
  private complete(order: Int32Array, count: number): void {
    let rowsWanted = 1;
    for (let i = 0; i < count && rowsWanted < DFA_ROWS; i++) {
      if ((this.depthOf[order[i] ?? 0] ?? 0) > DFA_DEPTH) break;
      rowsWanted++;
    }
    this.dfaRowOf = new Int32Array(this.nodes);
    this.dfa = new Int32Array((rowsWanted + 1) * 256);
    this.dfaRowOf[0] = 1;
    this.dfa.set(this.rootNext, 256);
    let row = 2;
    for (let i = 0; i < count && row <= rowsWanted; i++, row++) {
      const u = order[i] ?? 0;
      this.dfaRowOf[u] = row;
      const failRow = this.dfaRowOf[this.fail[u] ?? 0] ?? 0;
      for (let b = 0; b < 256; b++) {
        const c = this.child(u, b);
        this.dfa[row * 256 + b] = c !== 0 ? c : (this.dfa[failRow * 256 + b] ?? 0);
      }
    }
  }

  /** The state after reading `byte` in `state`. */
  step(state: number, byte: number): number {
    let s = state;
    for (;;) {
      const next = this.child(s, byte);
      if (next !== 0) return next;
      if (s === 0) return 0;
      s = this.fail[s] ?? 0;
    }
  }

  /**
   * Reads `bytes` from `state` and returns the final state; `onMatch(end, length)` is called for the
   * longest pattern ending at each position that ends one (`end` is the index after it in `bytes`).
   * The hot loop of the masker: the lookups are inlined over local references to the arrays.
   */
  scan(bytes: Uint8Array, state: number, onMatch: (end: number, length: number) => void): number {
    const { dfaRowOf, dfa, rowOf, rows, firstChild, nextSibling, label, fail, matchOf } = this;
    let s = state;
    const n = bytes.length;
    for (let i = 0; i < n; i++) {
      const byte = bytes[i] as number;
      for (;;) {
        const complete = dfaRowOf[s] as number;
        if (complete !== 0) {
          s = dfa[complete * 256 + byte] as number;
          break;
        }
        let next = 0;
        const row = rowOf[s] as number;
        if (row !== 0) {
          next = rows[row * 256 + byte] as number;
        } else {
          for (let c = firstChild[s] as number; c !== 0; c = nextSibling[c] as number) {
            if (label[c] === byte) {
              next = c;
              break;
            }
          }
        }
        if (next !== 0) {
          s = next;
          break;
        }
        // Never the root here: the root has a complete row.
        s = fail[s] as number;
      }
      const m = matchOf[s] as number;
      if (m !== 0) onMatch(i + 1, m);
    }
    return s;
  }

  /** How many of the last bytes read are a prefix of some pattern (what a later match could start in). */
  depth(state: number): number {
    return this.depthOf[state] ?? 0;
  }

  /** Length of the longest pattern ending at the last byte read (0: none). */
  match(state: number): number {
    return this.matchOf[state] ?? 0;
  }
}
