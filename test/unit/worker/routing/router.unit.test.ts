// A session's plan: the primary for writes and, with load balancing, the load-balance
// node when it is another node; the catalog query a read needs, quoted safely.
import { describe, expect, it } from 'vitest';
import { freshNode, type NodeSnapshot } from '../../../../src/ipc/node-snapshot.js';
import { factsQuery } from '../../../../src/worker/routing/catalog-facts.js';
import { planSession, readOnStandby } from '../../../../src/worker/routing/router.js';
import { loadConfigText } from '../../../helpers/config.js';

const NODES = "backend_hostname0 = 'a'\nbackend_port0 = 5432\nbackend_hostname1 = 'b'\nbackend_port1 = 5433\n";
const nodes: NodeSnapshot = [freshNode(0, 'standby', 0), freshNode(1, 'primary', 0)];
const who = { user: 'alice', database: 'app', applicationName: 'psql' };

describe('planSession', () => {
  it.each([
    ['weights 1:0: the standby', 'backend_weight0 = 1\nbackend_weight1 = 0\n', 0.5, 0],
    ['weights 0:1: the primary alone', 'backend_weight0 = 0\nbackend_weight1 = 1\n', 0.5, undefined],
    ['load_balance_mode off', 'load_balance_mode = off\n', 0.0, undefined],
    ['raw mode', "backend_clustering_mode = 'raw'\n", 0.0, undefined],
    ['psql redirected to the primary', "app_name_redirect_preference_list = 'psql:primary'\n", 0.0, undefined],
    ['weights 1:1, a low draw: node 0', '', 0.1, 0],
  ])('%s', (_name, text, draw, standby) => {
    const plan = planSession(loadConfigText(NODES + text), nodes, who, () => draw);
    expect(plan.primary?.node).toBe(text.includes('raw') ? 0 : 1);
    expect(plan.standby?.node).toBe(standby);
  });

  it('a down standby is never planned', () => {
    const down: NodeSnapshot = [{ ...nodes[0], status: 'down' }, nodes[1]];
    expect(planSession(loadConfigText(NODES + 'backend_weight1 = 0\n'), down, who, () => 0).standby).toBeUndefined();
  });
});

describe('following Patroni', () => {
  const PATRONI = NODES + "backend_discovery = 'patroni'\npatroni_url = 'http://127.0.0.1:8008'\n";
  const asPatroni = (roles: ('primary' | 'standby' | 'unknown')[], more: Partial<NodeSnapshot[number]>[] = []) =>
    roles.map((actualRole, id) => ({ ...freshNode(id, 'standby', 0), actualRole, ...more[id] }));

  it.each<[string, string, NodeSnapshot, number | undefined]>([
    ['no leader: a node Patroni last called replica', '', asPatroni(['primary', 'standby']), 1],
    ['never the node it last called leader', '', asPatroni(['standby', 'primary']), 0],
    ['before any answer (roles unknown): none', '', asPatroni(['unknown', 'unknown']), undefined],
    [
      'a replica over delay_threshold: none',
      'delay_threshold = 100\n',
      asPatroni(['primary', 'standby'], [{}, { replicationDelay: 101 }]),
      undefined,
    ],
    ['a down replica: none', '', asPatroni(['primary', 'standby'], [{}, { status: 'down' }]), undefined],
  ])('%s', (_name, text, snapshot, readOnly) => {
    const plan = planSession(loadConfigText(PATRONI + text), snapshot, who, () => 0.5);
    expect(plan.primary).toBeUndefined();
    expect(plan.readOnly?.node).toBe(readOnly);
  });

  it('with a leader, a replica is kept for when the leader cannot be reached', () => {
    const withLeader: NodeSnapshot = [freshNode(0, 'standby', 0), freshNode(1, 'primary', 0)];
    const plan = planSession(loadConfigText(PATRONI + 'load_balance_mode = off\n'), withLeader, who, () => 0.5);
    expect([plan.primary?.node, plan.readOnly?.node]).toEqual([1, 0]);
  });
});

describe('statement_level_load_balance', () => {
  const SL = NODES + 'statement_level_load_balance = on\n';

  it.each([
    // Weights 1:1 on primary and standby: the session holds the standby whatever the draw.
    ['weights 1:1, a high draw', '', 0.9, 0],
    ['weights 0:1: no standby to hold', 'backend_weight0 = 0\nbackend_weight1 = 1\n', 0.5, undefined],
    // The lists decide per read, not for the session.
    ['psql redirected to the primary', "app_name_redirect_preference_list = 'psql:primary'\n", 0.0, 0],
  ])('the session holds a standby by weight: %s', (_name, text, draw, standby) => {
    expect(planSession(loadConfigText(SL + text), nodes, who, () => draw).standby?.node).toBe(standby);
  });

  it.each([
    ['weights 1:1, a low draw: node 0, the standby', '', 0.1, true],
    ['weights 1:1, a high draw: node 1, the primary', '', 0.9, false],
    ['weights 1:0: always the standby', 'backend_weight1 = 0\n', 0.99, true],
    ['psql redirected to the primary', "app_name_redirect_preference_list = 'psql:primary'\n", 0.0, false],
    [
      'a redirect to node 2, which the session does not hold: by weight',
      "app_name_redirect_preference_list = 'psql:2'\n",
      0.1,
      true,
    ],
  ])('each read chooses again: %s', (_name, text, draw, onStandby) => {
    expect(readOnStandby(loadConfigText(SL + text), nodes, who, 0, () => draw)).toBe(onStandby);
  });

  it('eight reads with weights 1:1 over a fixed sequence of draws', () => {
    const draws = [0.1, 0.7, 0.2, 0.4, 0.9, 0.6, 0.3, 0.8];
    const cfg = loadConfigText(SL);
    expect(draws.map((d) => (readOnStandby(cfg, nodes, who, 0, () => d) ? 0 : 1))).toEqual([0, 1, 0, 0, 1, 1, 0, 1]);
  });
});

describe('factsQuery', () => {
  it('asks about every relation and function at once, quoting names', () => {
    const q = factsQuery([{ name: 'it"s' }, { schema: 'pg_catalog', name: "o'k" }], ['random', 'public.f']);
    expect(q).toContain(`pg_catalog.to_regclass('"it""s"')`);
    expect(q).toContain(`pg_catalog.to_regclass('"pg_catalog"."o''k"')`);
    expect(q).toContain(`p.proname = 'random'`);
    expect(q).toContain(`(p.proname = 'f' AND n.nspname = 'public')`);
    expect(factsQuery([], [])).toBe('SELECT false, false, false, false');
  });
});
