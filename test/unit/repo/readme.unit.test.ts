// The README keeps its promises: the two commands first, and a parameter table that
// matches what the schema says pgpool-ts acts on.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { PARAMS_BEGIN, PARAMS_END, paramsTable } from '../../../src/config/params-doc.js';
import { ACTS_ON, PARAMS } from '../../../src/config/schema.js';
import { repoRoot } from '../../helpers/shared.js';

const readme = fs.readFileSync(path.join(repoRoot, 'README.md'), 'utf8');

describe('README', () => {
  it('starts with the run and test commands', () => {
    const blocks = [...readme.matchAll(/```(?:sh|bash)?\n([\s\S]*?)```/g)].map((m) => m[1].trim());
    expect(blocks.slice(0, 2)).toEqual(['npm install && npm start', 'npm test']);
  });

  it('has the parameter table the schema generates (npm run docs:params)', () => {
    const section = readme.slice(readme.indexOf(PARAMS_BEGIN), readme.indexOf(PARAMS_END) + PARAMS_END.length);
    expect(section).toBe(paramsTable());
  });

  it('marks only real parameters as acting', () => {
    for (const name of ACTS_ON) expect(PARAMS.get(name)?.removedVersion, name).toBe('');
  });
});
