// The layout's rules (docs/architecture.md#layout), checked on every import in src/:
// supervisor/ and worker/ never import each other; cluster/ is imported only by
// supervisor/ and admin/; policy/ is pure (no Node I/O modules, nothing stateful).
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../../helpers/shared.js';

const src = path.join(repoRoot, 'src');

function files(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : [];
  });
}

/** Every import of every source file: [importing folder, imported folder or node module]. */
function imports(): Array<{ file: string; from: string; to: string }> {
  const out: Array<{ file: string; from: string; to: string }> = [];
  for (const file of files(src)) {
    const text = fs.readFileSync(file, 'utf8');
    const from = path.relative(src, path.dirname(file)).split(path.sep)[0] || '.';
    for (const m of text.matchAll(/^(?:import|export)\s[^'"]*?from\s+'([^']+)'/gm)) {
      const spec = m[1];
      const to = spec.startsWith('.')
        ? path.relative(src, path.resolve(path.dirname(file), spec)).split(path.sep)[0]
        : spec;
      out.push({ file: path.relative(src, file), from, to });
    }
  }
  return out;
}

const all = imports();
const broken = (rule: (i: { from: string; to: string }) => boolean) =>
  all.filter(rule).map((i) => `${i.file} imports ${i.to}`);

describe('import rules', () => {
  it('finds the imports it checks', () => {
    expect(all.length).toBeGreaterThan(300);
    expect(all.some((i) => i.from === 'supervisor' && i.to === 'cluster')).toBe(true);
  });

  it('supervisor/ and worker/ never import each other', () => {
    expect(
      broken((i) => (i.from === 'supervisor' && i.to === 'worker') || (i.from === 'worker' && i.to === 'supervisor')),
    ).toEqual([]);
  });

  it('cluster/ is imported only by supervisor/ and admin/', () => {
    expect(broken((i) => i.to === 'cluster' && !['supervisor', 'admin', 'cluster'].includes(i.from))).toEqual([]);
  });

  it('policy/ makes decisions only: no I/O, no process, no socket', () => {
    expect(
      broken(
        (i) =>
          i.from === 'policy' &&
          (i.to.startsWith('node:') || ['worker', 'supervisor', 'backend', 'cluster'].includes(i.to)),
      ),
    ).toEqual([]);
  });

  it('protocol/, config/ and auth/ know nothing of processes', () => {
    expect(
      broken(
        (i) =>
          ['protocol', 'config', 'auth'].includes(i.from) &&
          ['worker', 'supervisor', 'cluster', 'admin'].includes(i.to),
      ),
    ).toEqual([]);
  });

  it('no source file is over 400 lines', () => {
    const long = files(src)
      .map((f) => [path.relative(src, f), fs.readFileSync(f, 'utf8').split('\n').length] as const)
      .filter(([f, n]) => n > 400 && f !== 'config/params-table.ts');
    expect(long).toEqual([]);
  });

  it('comments cite docs/ sections that exist, and no § of a document outside the repository', () => {
    const anchors = (doc: string) =>
      new Set(
        [...fs.readFileSync(path.join(repoRoot, 'docs', doc), 'utf8').matchAll(/^#+ (.+)$/gm)].map((m) =>
          m[1]
            .toLowerCase()
            .replace(/[^a-z0-9 -]/g, '')
            .replace(/ /g, '-'),
        ),
      );
    const missing: string[] = [];
    for (const file of files(src)) {
      const text = fs.readFileSync(file, 'utf8');
      if (text.includes('§')) missing.push(`${path.relative(src, file)}: §`);
      for (const m of text.matchAll(/docs\/([a-z-]+\.md)(?:#([a-z0-9-]+))?/g)) {
        if (!fs.existsSync(path.join(repoRoot, 'docs', m[1]))) missing.push(`${path.relative(src, file)}: ${m[0]}`);
        else if (m[2] && !anchors(m[1]).has(m[2])) missing.push(`${path.relative(src, file)}: ${m[0]}`);
      }
    }
    expect(missing).toEqual([]);
  });
});
