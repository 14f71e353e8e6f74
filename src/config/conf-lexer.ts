// The pgpool.conf tokenizer, following pgpool-II's flex scanner (pool_config.l):
// longest match wins, and on equal length the earlier token kind in this list wins.
// pgpool.conf is not INI; see README ("Why not the ini package").

export const enum TokenKind {
  Newline = 1,
  Key = 2,
  String = 3,
  Unquoted = 4,
  Integer = 5,
  Real = 6,
  Equals = 7,
  Other = 8,
}

export interface Token {
  readonly kind: TokenKind;
  /** Source text; for String the text between the outer quotes, taken verbatim. */
  readonly text: string;
  readonly line: number;
}

const isKeyStart = (c: number) => (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x5f || c >= 0x80;
const isDigit = (c: number) => c >= 0x30 && c <= 0x39;
const isLetter = (c: number) => (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
const isKeyChar = (c: number) => isKeyStart(c) || isDigit(c);
const isUnquotedChar = (c: number) =>
  isKeyChar(c) || c === 0x2d /* - */ || c === 0x2e /* . */ || c === 0x3a /* : */ || c === 0x2f; /* / */
const isHex = (c: number) => isDigit(c) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66);

/** Length of an INTEGER token at i (sign, decimal or 0x-hex digits, then unit letters), or 0. */
function integerLength(s: Buffer, i: number): number {
  let j = i;
  if (s[j] === 0x2b || s[j] === 0x2d) j++;
  const digitsAt = j;
  let end = 0;
  if (s[j] === 0x30 && (s[j + 1] === 0x78 || s[j + 1] === 0x58) && isHex(s[j + 2] ?? -1)) {
    j += 2;
    while (j < s.length && isHex(s[j])) j++;
    end = j;
  }
  // Decimal reading; flex keeps whichever of the two alternatives is longer.
  let k = digitsAt;
  while (k < s.length && isDigit(s[k])) k++;
  if (k === digitsAt && end === 0) return 0;
  while (k < s.length && isLetter(s[k])) k++;
  if (end > 0) while (end < s.length && isLetter(s[end])) end++;
  return Math.max(k, end) - i;
}

/** Length of a REAL token at i (sign, digits*, '.', digits*, optional exponent), or 0. */
function realLength(s: Buffer, i: number): number {
  let j = i;
  if (s[j] === 0x2b || s[j] === 0x2d) j++;
  while (j < s.length && isDigit(s[j])) j++;
  if (s[j] !== 0x2e) return 0;
  j++;
  while (j < s.length && isDigit(s[j])) j++;
  if (s[j] === 0x65 || s[j] === 0x45) {
    let k = j + 1;
    if (s[k] === 0x2b || s[k] === 0x2d) k++;
    if (isDigit(s[k] ?? -1)) {
      while (k < s.length && isDigit(s[k])) k++;
      j = k;
    }
  }
  return j - i;
}

/**
 * Length of a quoted string at i (s[i] is a quote), or 0 when unterminated.
 * pgpool's rule is `'([^'\n]|\\.)*'` taken longest: a quote preceded by a backslash
 * may be inside the string, so the string ends at the last quote before the first
 * quote that is not so preceded (or the end of the line).
 */
function stringLength(s: Buffer, i: number): number {
  let best = 0;
  for (let j = i + 1; j < s.length && s[j] !== 0x0a; j++) {
    if (s[j] !== 0x27) continue;
    best = j + 1 - i;
    const escaped = j - 1 > i && s[j - 1] === 0x5c;
    if (!escaped) break;
  }
  return best;
}

export function tokenize(input: Buffer | string): Token[] {
  const s = typeof input === 'string' ? Buffer.from(input, 'utf8') : input;
  const tokens: Token[] = [];
  let line = 1;
  let i = 0;
  while (i < s.length) {
    const c = s[i];
    if (c === 0x0a) {
      tokens.push({ kind: TokenKind.Newline, text: '\n', line });
      line++;
      i++;
      continue;
    }
    if (c === 0x20 || c === 0x09 || c === 0x0d) {
      i++;
      continue;
    }
    if (c === 0x23) {
      while (i < s.length && s[i] !== 0x0a) i++;
      continue;
    }
    let kind = TokenKind.Other as TokenKind;
    let len = 1;
    const take = (k: TokenKind, n: number) => {
      if (n > len || (n === len && k < kind)) {
        kind = k;
        len = n;
      }
    };
    if (isKeyStart(c)) {
      let k = i + 1;
      while (k < s.length && isKeyChar(s[k])) k++;
      take(TokenKind.Key, k - i);
      let u = i + 1;
      while (u < s.length && isUnquotedChar(s[u])) u++;
      take(TokenKind.Unquoted, u - i);
    } else if (c === 0x27) {
      const n = stringLength(s, i);
      if (n > 0) take(TokenKind.String, n);
    } else if (c === 0x3d) {
      take(TokenKind.Equals, 1);
    } else {
      const n = integerLength(s, i);
      if (n > 0) take(TokenKind.Integer, n);
      const r = realLength(s, i);
      if (r > 0) take(TokenKind.Real, r);
    }
    // "Other" single characters (including an unterminated quote) keep kind Other, len 1.
    const raw = s.subarray(i, i + len);
    const text = kind === TokenKind.String ? raw.subarray(1, raw.length - 1).toString('utf8') : raw.toString('utf8');
    tokens.push({ kind, text, line });
    i += len;
  }
  return tokens;
}

/** pgpool's token numbers in "parse error ... token = K" messages. */
export function pgpoolTokenNumber(kind: TokenKind): number {
  switch (kind) {
    case TokenKind.Integer:
      return 2;
    case TokenKind.Real:
      return 3;
    case TokenKind.String:
      return 4;
    case TokenKind.Unquoted:
      return 5;
    case TokenKind.Equals:
      return 6;
    default:
      return 8;
  }
}
