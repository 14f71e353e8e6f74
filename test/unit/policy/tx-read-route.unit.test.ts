// Transaction mode's read routing: which transactions run on the load-balance node.
import { describe, expect, it } from 'vitest';
import {
  oneStatementRequest,
  txReadTarget,
  type TxReadInput,
  type TxReadTarget,
} from '../../../src/policy/tx-read-route.js';

const read: TxReadInput = {
  standby: true,
  destination: 'lb',
  factsKnown: true,
  delayed: false,
  keptOnPrimary: false,
  drawnStandby: true,
};

describe('txReadTarget', () => {
  it.each<[string, Partial<TxReadInput>, TxReadTarget]>([
    ['a read with its facts cached', {}, 'standby'],
    ['a read whose facts are not known yet', { factsKnown: false }, 'learn'],
    ['no load-balance node', { standby: false }, 'primary'],
    ['a write', { destination: 'primary' }, 'primary'],
    ['a statement for every node (SET, BEGIN)', { destination: 'both' }, 'primary'],
    ['no statement text (Bind of an unknown statement)', { destination: undefined }, 'primary'],
    ['the standby over delay_threshold', { delayed: true }, 'primary'],
    ['after a write, with causal_reads or disable_load_balance_on_write = always', { keptOnPrimary: true }, 'primary'],
    ['unknown facts of a write', { destination: 'primary', factsKnown: false }, 'primary'],
    ['statement_level_load_balance drew the primary for this read', { drawnStandby: false }, 'primary'],
    [
      'drawn the primary, facts unknown: learnt there all the same',
      { drawnStandby: false, factsKnown: false },
      'learn',
    ],
    ['drawn the standby, but a write keeps reads on the primary', { keptOnPrimary: true }, 'primary'],
  ])('%s', (_name, change, want) => expect(txReadTarget({ ...read, ...change })).toBe(want));
});

describe('oneStatementRequest', () => {
  const codes = (s: string) => [...s].map((c) => Buffer.from([c.charCodeAt(0), 0, 0, 0, 4]));
  it.each<[string, boolean]>([
    ['Q', true],
    ['QQ', true],
    ['PBDES', true],
    ['PBES', true],
    ['BES', true],
    ['BDES', true],
    ['PBDESQ', true],
    ['PBDE', false], // its Sync has not come yet
    ['PBDEPBES', false], // a second statement before the Sync
    ['PBEBES', false],
    ['PDH', false], // Flush: the client waits for replies before sending the rest
    ['PS', false],
    ['CS', false],
    ['', false],
  ])('%s: %s', (types, want) => expect(oneStatementRequest(codes(types))).toBe(want));
});
