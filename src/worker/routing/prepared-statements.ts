// Where a session's prepared statements and portals exist (docs/behaviour.md#routing):
// the client sees one server, but a statement parsed on a standby is missing on the
// primary. Each statement keeps its Parse message, so that it can be parsed again on the
// node a later Bind goes to; a statement the client closed while another node still has
// it is closed there before that name is parsed on it again.
import type { StatKind, StatementClass } from '../../policy/statement-class.js';
import type { Classified } from './classifier.js';

export interface StatementEntry {
  /** The client's Parse message, verbatim (the latest one of an unnamed statement parsed again as it was). */
  parse: Buffer;
  readonly sql: string;
  readonly cls: StatementClass;
  readonly multi: boolean;
  /** Nodes where this version of the statement exists. */
  readonly nodes: Set<number>;
}

export class PreparedStatements {
  private readonly statements = new Map<string, StatementEntry>();
  /** Per node: names the client closed that still exist there. */
  private readonly stale = new Map<number, Set<string>>();
  /** Portal name → the node it was bound on (the unnamed portal too, until the next Bind). */
  private readonly portals = new Map<string, number>();
  /** Portal name → the kind of its statement (pool_backend_stats counts an Execute by it). */
  private readonly portalKinds = new Map<string, StatKind>();

  get(name: string): StatementEntry | undefined {
    return this.statements.get(name);
  }

  /** A Parse of `name` goes to `node`: true when the node first needs `Close` of an older version. */
  parsed(name: string, parse: Buffer, c: Classified, sql: string, node: number): boolean {
    const old = this.statements.get(name);
    // The unnamed statement parsed again with the same text on the one node it is on (a
    // driver's unnamed statements in a loop): the entry stands, with the new message.
    if (old && name === '' && old.sql === sql && old.nodes.size === 1 && old.nodes.has(node)) {
      old.parse = parse;
      return this.takeStale(node, name);
    }
    // Another node may still hold an older version of the name: stale there now (a Parse
    // of the unnamed statement replaces it anyway).
    if (old && name !== '') for (const n of old.nodes) if (n !== node) this.staleOn(n).add(name);
    this.statements.set(name, { parse, sql, cls: c.cls, multi: c.multi, nodes: new Set([node]) });
    return this.takeStale(node, name);
  }

  /** The statement was parsed again on `node` for a Bind (it exists there too now). */
  copiedTo(name: string, node: number): void {
    this.statements.get(name)?.nodes.add(node);
  }

  /** Whether `node` must close an older version of `name` before parsing it. */
  takeStale(node: number, name: string): boolean {
    return this.stale.get(node)?.delete(name) === true;
  }

  /** The client closed `name`, and the Close goes to `node`. */
  closed(name: string, node: number): void {
    const old = this.statements.get(name);
    if (!old) return;
    if (name !== '') for (const n of old.nodes) if (n !== node) this.staleOn(n).add(name);
    this.statements.delete(name);
  }

  bound(portal: string, node: number, kind: StatKind | undefined): void {
    this.portals.set(portal, node);
    if (kind) this.portalKinds.set(portal, kind);
    else this.portalKinds.delete(portal);
  }

  portalKind(portal: string): StatKind | undefined {
    return this.portalKinds.get(portal);
  }

  portalNode(portal: string): number | undefined {
    return this.portals.get(portal);
  }

  /** DISCARD ALL / DEALLOCATE ALL on every node, or a node's connection replaced: forget what it had. */
  forgetNode(node: number): void {
    for (const [name, e] of this.statements) {
      e.nodes.delete(node);
      if (e.nodes.size === 0) this.statements.delete(name);
    }
    this.stale.delete(node);
    for (const [p, n] of this.portals)
      if (n === node) {
        this.portals.delete(p);
        this.portalKinds.delete(p);
      }
  }

  private staleOn(node: number): Set<string> {
    let s = this.stale.get(node);
    if (!s) this.stale.set(node, (s = new Set()));
    return s;
  }
}
