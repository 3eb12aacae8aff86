/**
 * A skeleton in the sense of UTS #39 §4 (Confusable Detection): two labels that look alike map to the
 * same string. We keep only the mappings that matter for domain names: non-Latin letters that render
 * like ASCII letters (Cyrillic, Greek, Armenian, Latin extensions), Latin letters with diacritics
 * (stripped through NFKD), full-width forms (NFKD), and the ASCII look-alikes that typosquatters use
 * without any IDN: `1`/`i`/`l`, `0`/`o`, `rn`/`m`, `vv`/`w` (confusables.txt maps each to one
 * prototype; `i`→`l` is our addition because in most URL bar fonts `I` and `l` are one glyph and DNS is
 * case-insensitive). `cl`/`d` is left out: with `i`→`l` it would also fold `ci` into `d`.
 *
 * The skeleton is only ever compared with other skeletons; it is not meant to be displayed.
 */

/** Characters that NFKD leaves alone but that render like an ASCII letter or digit. */
const CONFUSABLE_TO_ASCII: ReadonlyMap<number, string> = new Map(
  Object.entries({
    // Cyrillic (confusables.txt, lowercase forms; DNS labels are lowercase after IDNA mapping)
    'а': 'a', 'в': 'b', 'ь': 'b', 'е': 'e', 'ё': 'e', 'є': 'e', 'һ': 'h', 'і': 'i', 'ї': 'i',
    'ј': 'j', 'к': 'k', 'ӏ': 'l', 'м': 'm', 'н': 'h', 'о': 'o', 'р': 'p', 'с': 'c', 'ѕ': 's',
    'т': 't', 'у': 'y', 'ү': 'y', 'х': 'x', 'ԁ': 'd', 'ԛ': 'q', 'ԝ': 'w', 'п': 'n', 'г': 'r',
    'ѡ': 'w', 'ɡ': 'g',
    // Greek
    'α': 'a', 'β': 'b', 'ε': 'e', 'η': 'n', 'ι': 'i', 'κ': 'k', 'ν': 'v', 'ο': 'o', 'ρ': 'p',
    'τ': 't', 'υ': 'u', 'χ': 'x', 'γ': 'y', 'ϲ': 'c', 'ϳ': 'j', 'ω': 'w',
    // Armenian
    'օ': 'o', 'ս': 'u', 'ո': 'n', 'հ': 'h', 'զ': 'q', 'ց': 'g',
    // Latin letters without a canonical decomposition
    'ı': 'i', 'ɩ': 'i', 'ǀ': 'l', 'ł': 'l', 'ƚ': 'l', 'ø': 'o', 'ɵ': 'o', 'đ': 'd', 'ɗ': 'd',
    'ħ': 'h', 'ƅ': 'b', 'ɑ': 'a', 'ß': 'ss', 'æ': 'ae', 'œ': 'oe', 'ŋ': 'n', 'ʋ': 'u',
  }).map(([from, to]) => [from.codePointAt(0) ?? 0, to]),
);

const COMBINING_MARKS = /[\u0300-\u036f]/g;

/** One mapped character: the ASCII (or untouched) text it becomes. */
function toAsciiLike(char: string): string {
  const code = char.codePointAt(0) ?? 0;
  if (code < 0x80) return char;
  const direct = CONFUSABLE_TO_ASCII.get(code);
  if (direct !== undefined) return direct;
  const decomposed = char.normalize('NFKD').replace(COMBINING_MARKS, '').toLowerCase();
  let out = '';
  for (const part of decomposed) {
    const partCode = part.codePointAt(0) ?? 0;
    out += partCode < 0x80 ? part : (CONFUSABLE_TO_ASCII.get(partCode) ?? part);
  }
  return out;
}

/**
 * Reusable output of {@link skeletonize}: the compact skeleton (hyphens removed), where each of its
 * characters came from in the input, and where the input had a hyphen (token boundary).
 */
export class SkeletonBuffer {
  private compactText: string | undefined = '';
  /** `source[k]`: index in the input label of the character that produced `compact[k]`. */
  readonly source: Int16Array;
  /** `boundary[k] === 1`: a hyphen (or the label edge) separates `compact[k - 1]` from `compact[k]`. */
  readonly boundary: Uint8Array;
  /** `digit[k] === 1`: `compact[k]` came from an ASCII digit (`0` and `1` become `o` and `l`). */
  readonly digit: Uint8Array;
  /** The input had characters outside ASCII. */
  nonAscii = false;
  /** Length of `compact`. */
  length = 0;
  /** `compact` as character codes. */
  readonly codes: Uint16Array;
  private readonly stage: Uint16Array;
  private readonly stageSource: Int16Array;
  private readonly stageBoundary: Uint8Array;

  constructor(readonly capacity = 256) {
    this.source = new Int16Array(capacity + 1);
    this.boundary = new Uint8Array(capacity + 1);
    this.digit = new Uint8Array(capacity + 1);
    this.codes = new Uint16Array(capacity);
    this.stage = new Uint16Array(capacity);
    this.stageSource = new Int16Array(capacity);
    this.stageBoundary = new Uint8Array(capacity + 1);
  }

  /**
   * Fills the buffer from one lowercase label. Returns false when the label is too long for the
   * buffer (callers reject such labels before: DNS labels are at most 63 octets).
   */
  fill(label: string): boolean {
    this.nonAscii = false;
    // Pass 1: every character to its ASCII-like form; hyphens become boundaries.
    let staged = 0;
    let index = 0;
    this.stageBoundary[0] = 0;
    while (index < label.length) {
      const sourceIndex = index;
      let code = label.charCodeAt(index);
      if (code === 0x2d || code === 0x5f) {
        this.stageBoundary[staged] = 1;
        index++;
        continue;
      }
      if (code < 0x80) {
        index++;
        if (staged >= this.capacity) return false;
        if (code === 0x69 || code === 0x31) code = 0x6c; // i, 1 -> l
        else if (code === 0x30) code = 0x6f; // 0 -> o
        this.stage[staged] = code;
        this.stageSource[staged] = sourceIndex;
        this.stageBoundary[++staged] = 0;
        continue;
      }
      this.nonAscii = true;
      const char = String.fromCodePoint(label.codePointAt(index) ?? 0);
      index += char.length;
      const mapped = toAsciiLike(char);
      for (let k = 0; k < mapped.length; k++) {
        if (staged >= this.capacity) return false;
        let mappedCode = mapped.charCodeAt(k);
        if (mappedCode === 0x69 || mappedCode === 0x31) mappedCode = 0x6c;
        else if (mappedCode === 0x30) mappedCode = 0x6f;
        this.stage[staged] = mappedCode;
        this.stageSource[staged] = sourceIndex;
        this.stageBoundary[++staged] = 0;
      }
    }
    // Pass 2: two-letter look-alikes to their one-letter prototype.
    let out = 0;
    for (let k = 0; k < staged; k++) {
      const c = this.stage[k] ?? 0;
      const next = k + 1 < staged && this.stageBoundary[k + 1] === 0 ? (this.stage[k + 1] ?? 0) : 0;
      let mapped = c;
      let consumed = 1;
      if (c === 0x72 && next === 0x6e) [mapped, consumed] = [0x6d, 2]; // rn -> m
      else if (c === 0x76 && next === 0x76) [mapped, consumed] = [0x77, 2]; // vv -> w
      this.boundary[out] = this.stageBoundary[k] ?? 0;
      const sourceCode = label.charCodeAt(this.stageSource[k] ?? 0);
      this.digit[out] = consumed === 1 && sourceCode >= 0x30 && sourceCode <= 0x39 ? 1 : 0;
      this.source[out] = this.stageSource[k] ?? 0;
      this.codes[out] = mapped;
      out++;
      k += consumed - 1;
    }
    this.boundary[0] = 1;
    this.boundary[out] = 1;
    this.source[out] = index;
    this.length = out;
    this.compactText = undefined;
    return true;
  }

  /** The skeleton as a string (built on first use: the matchers read `codes`). */
  get compact(): string {
    this.compactText ??= String.fromCharCode.apply(null, this.codes.subarray(0, this.length) as unknown as number[]);
    return this.compactText;
  }

  /** Whether the input characters behind compact[i, j) of `label`, hyphens aside, differ from `text`. */
  sourceDiffers(text: string, i: number, j: number, label: string): boolean {
    const start = this.source[i] ?? 0;
    const end = this.source[j] ?? label.length;
    let k = 0;
    for (let p = start; p < end; p++) {
      const c = label.charCodeAt(p);
      if (c === 0x2d || c === 0x5f) continue;
      if (c !== text.charCodeAt(k)) return true;
      k++;
    }
    return k !== text.length;
  }

  /** Whether the skeleton starts with `word` (a skeleton). */
  startsWith(word: string): boolean {
    if (word.length > this.length) return false;
    for (let k = 0; k < word.length; k++) if (this.codes[k] !== word.charCodeAt(k)) return false;
    return true;
  }

  /** Whether the skeleton ends with `word` (a skeleton). */
  endsWith(word: string): boolean {
    const at = this.length - word.length;
    if (at < 0) return false;
    for (let k = 0; k < word.length; k++) if (this.codes[at + k] !== word.charCodeAt(k)) return false;
    return true;
  }
}

let sharedBuffer: SkeletonBuffer | undefined;

/** The skeleton of a string with hyphens removed (construction-time helper; reuses one buffer). */
export function skeletonOf(text: string): string {
  sharedBuffer ??= new SkeletonBuffer(512);
  if (!sharedBuffer.fill(text.toLowerCase())) throw new Error(`text too long for a skeleton: ${text.length}`);
  return sharedBuffer.compact;
}
