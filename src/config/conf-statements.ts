// Turns tokens into `key [=] value` statements with pgpool's grammar
// (docs/behaviour.md#configuration), expanding `include` in place. Syntax problems become diagnostics; where pgpool
// would quietly read a different value than the author meant (`30 min`, a double-quoted
// value, an unterminated quote) pgpool-ts reports an error instead.
import fs from 'node:fs';
import path from 'node:path';
import type { Diagnostic } from './diagnostic.js';
import { type Token, TokenKind, pgpoolTokenNumber, tokenize } from './conf-lexer.js';
import { UNIT_NAMES } from './conf-values.js';

export interface Statement {
  readonly key: string;
  /** undefined when the key had no value (pgpool would use a newline character). */
  readonly value: string | undefined;
  readonly file: string;
  readonly line: number;
}

export const MAX_INCLUDE_DEPTH = 10;

export interface ReadResult {
  readonly statements: Statement[];
  readonly diagnostics: Diagnostic[];
  readonly files: string[];
}

export type FileReader = (file: string) => Buffer;

export function readStatements(file: string, readFile: FileReader = (f) => fs.readFileSync(f)): ReadResult {
  const out: ReadResult = { statements: [], diagnostics: [], files: [] };
  readInto(file, 0, readFile, out);
  return out;
}

function readInto(file: string, depth: number, readFile: FileReader, out: ReadResult): boolean {
  let text: Buffer;
  try {
    text = readFile(file);
  } catch (e) {
    const reason = (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'No such file or directory' : (e as Error).message;
    out.diagnostics.push({
      severity: 'error',
      file,
      line: 0,
      message: `could not open configuration file "${file}": ${reason}`,
    });
    return false;
  }
  out.files.push(file);
  const tokens = tokenize(text);
  const err = (line: number, message: string, param?: string, hint?: string) =>
    out.diagnostics.push({ severity: 'error', file, line, param, message, hint });

  let i = 0;
  const skipLine = () => {
    while (i < tokens.length && tokens[i].kind !== TokenKind.Newline) i++;
  };
  while (i < tokens.length) {
    const keyTok = tokens[i];
    if (keyTok.kind === TokenKind.Newline) {
      i++;
      continue;
    }
    if (keyTok.kind !== TokenKind.Key) {
      const prev = tokens[i - 1];
      const hint =
        prev && prev.line === keyTok.line && prev.kind === TokenKind.Other && prev.text === '/'
          ? 'paths and values with "/" must be single-quoted'
          : undefined;
      const shown = keyTok.kind === TokenKind.String ? `'${keyTok.text}'` : keyTok.text;
      err(
        keyTok.line,
        `syntax error: parse error at line ${keyTok.line} '${shown}' token = ${pgpoolTokenNumber(keyTok.kind)}`,
        undefined,
        hint,
      );
      skipLine();
      continue;
    }
    i++;
    let valTok: Token | undefined = tokens[i];
    if (valTok?.kind === TokenKind.Equals) valTok = tokens[++i];
    if (valTok !== undefined) i++;
    const key = keyTok.text;
    if (valTok === undefined || valTok.kind === TokenKind.Newline) {
      out.statements.push({ key, value: undefined, file, line: keyTok.line });
      continue;
    }
    if (valTok.kind === TokenKind.Other && (valTok.text === '"' || valTok.text === "'")) {
      const message =
        valTok.text === '"'
          ? `invalid value for parameter "${key}": double quotes are not quotes in pgpool.conf`
          : `invalid value for parameter "${key}": unterminated quoted string`;
      err(
        valTok.line,
        message,
        key,
        valTok.text === '"' ? "use single quotes: key = 'value'" : 'a quoted value must end on the same line',
      );
      skipLine();
      continue;
    }
    const next = tokens[i];
    if (
      (valTok.kind === TokenKind.Integer || valTok.kind === TokenKind.Real) &&
      next?.kind === TokenKind.Key &&
      next.line === valTok.line &&
      UNIT_NAMES.has(next.text)
    ) {
      // pgpool reads `30 min` as 30 in the base unit plus an unknown key "min".
      err(
        valTok.line,
        `invalid value for parameter "${key}": "${valTok.text} ${next.text}"`,
        key,
        `write '${valTok.text}${next.text}' or quote it: '${valTok.text} ${next.text}'`,
      );
      i++;
      continue;
    }
    if (key === 'include') {
      if (valTok.kind !== TokenKind.String && valTok.kind !== TokenKind.Key && valTok.kind !== TokenKind.Unquoted) {
        err(valTok.line, `syntax error: include needs a quoted file name`, 'include');
        continue;
      }
      const target = path.resolve(path.dirname(file), valTok.text);
      if (depth + 1 > MAX_INCLUDE_DEPTH) {
        err(
          valTok.line,
          `could not open configuration file "${valTok.text}": maximum nesting depth exceeded`,
          'include',
        );
        continue;
      }
      if (!readInto(target, depth + 1, readFile, out)) {
        // the reader reported the missing file; point at the include line too
        err(valTok.line, `included file "${target}" could not be read`, 'include');
      }
      continue;
    }
    out.statements.push({ key, value: valTok.text, file, line: valTok.line });
  }
  return true;
}
