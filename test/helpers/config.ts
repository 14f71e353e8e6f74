// A configuration snapshot from pgpool.conf text, for unit tests (no file on disk).
import { loadConfig } from '../../src/config/conf-loader.js';
import type { PgpoolConfig } from '../../src/config/schema.js';

export function loadConfigText(text: string): PgpoolConfig {
  const r = loadConfig('/virtual/pgpool.conf', (f) => {
    if (f === '/virtual/pgpool.conf') return Buffer.from(text);
    throw Object.assign(new Error(`no file ${f}`), { code: 'ENOENT' });
  });
  const errors = r.diagnostics.filter((d) => d.severity === 'error');
  if (errors.length > 0) throw new Error(errors.map((d) => d.message).join('; '));
  return r.config;
}
