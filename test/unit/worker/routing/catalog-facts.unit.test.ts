// The catalog's answers a worker keeps (relcache): asked once per database and statement
// text, asked again once relcache_expire has passed since (never at 0, the default), at most
// relcache_size of them kept, the oldest dropped first (0: nothing kept). Simulated time.
import { beforeAll, describe, expect, it } from 'vitest';
import { CatalogFacts } from '../../../../src/worker/routing/catalog-facts.js';
import { loadParser, StatementClassifier } from '../../../../src/worker/routing/classifier.js';
import { loadConfigText } from '../../../helpers/config.js';

beforeAll(loadParser);

/** A step: at `ms`, a read of table `table` is routed; whether the catalog was asked. */
type Step = readonly [ms: number, table: string, asked: boolean];

describe('CatalogFacts', () => {
  it.each([
    [
      'no expiry (relcache_expire = 0): asked once',
      '',
      [
        [0, 'a', true],
        [1_000, 'a', false],
        [3_600_000, 'a', false],
      ],
    ],
    [
      'relcache_expire = 10: asked again once 10 s have passed since it was asked',
      'relcache_expire = 10',
      [
        [0, 'a', true],
        [9_999, 'a', false],
        [10_000, 'a', true],
        [15_000, 'a', false],
        [20_000, 'a', true],
      ],
    ],
    [
      'relcache_size = 2: a third text drops the oldest answer',
      'relcache_size = 2',
      [
        [0, 'a', true],
        [1, 'b', true],
        [2, 'a', false],
        [3, 'c', true],
        [4, 'b', false],
        [5, 'a', true],
      ],
    ],
    [
      'relcache_size = 0: nothing kept, every read asks',
      'relcache_size = 0',
      [
        [0, 'a', true],
        [1, 'a', true],
      ],
    ],
  ] as const)('%s', async (_name, conf, steps: readonly Step[]) => {
    const cfg = loadConfigText(`check_unlogged_table = on\n${conf}`);
    let now = 0;
    const facts = new CatalogFacts(() => now);
    const classifier = new StatementClassifier();
    const seen: boolean[] = [];
    for (const [ms, table] of steps) {
      now = ms;
      const sql = `SELECT * FROM ${table}`;
      let asked = false;
      await facts.factsFor(classifier.classify(sql).cls, sql, 'app', cfg, async () => {
        asked = true;
        return ['f', 'f', 'f', 'f'];
      });
      seen.push(asked);
    }
    expect(seen).toEqual(steps.map(([, , asked]) => asked));
  });
});
