// docs/errors.md, made from the catalogue (tools/docs-errors.mjs writes it; a unit test
// checks it is current), so the page cannot drift from what clients receive.
import { CATALOGUE, type CatalogueEntry, type ErrorCode } from './errors.js';

const cell = (s: string | undefined) => (s ?? '').replace(/\|/g, '\\|');

export function errorsMarkdown(): string {
  const rows = (Object.keys(CATALOGUE) as ErrorCode[]).map((code) => {
    const e: CatalogueEntry = CATALOGUE[code];
    return `| \`${code}\` | ${e.sqlstate} | ${e.severity} | ${e.log} | ${cell(e.message)} | ${cell(e.detail)} | ${cell(e.hint)} | ${e.limit ? `\`${e.limit}\`` : ''} |`;
  });
  return [
    '# Error catalogue',
    '',
    'Every error pgpool-ts itself sends a client or writes to its log (`src/protocol/errors.ts`).',
    "PostgreSQL's own errors are relayed byte for byte and are not listed. `{name}` is filled in",
    'when the error is raised; a detail or hint whose placeholders are all empty is left out.',
    '`limit`: the parameter whose limit was reached (log lines name it).',
    '',
    '| code | SQLSTATE | severity | log level | message | detail | hint | limit |',
    '| --- | --- | --- | --- | --- | --- | --- | --- |',
    ...rows,
    '',
  ].join('\n');
}
