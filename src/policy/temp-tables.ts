// check_temp_table = trace (docs/behaviour.md#routing), pure: the temporary tables a session
// has, followed from the statements that succeeded instead of asked of the catalog. When
// unsure it keeps a name — a read of a table wrongly held temporary only goes to the
// primary — and forgets one only when that is certain: created in a transaction that
// rolled back, dropped in one that committed or outside any, DISCARD ALL/TEMP.
import type { Relation, TempTableChange } from './statement-class.js';

export interface TempTables {
  readonly names: ReadonlySet<string>;
  /** Created (new to the session) or dropped in the transaction block still open. */
  readonly createdInBlock: ReadonlySet<string>;
  readonly droppedInBlock: ReadonlySet<string>;
}

export const NO_TEMP_TABLES: TempTables = { names: new Set(), createdInBlock: new Set(), droppedInBlock: new Set() };

/** After a statement that succeeded; `inBlock`: a transaction block is open after it. */
export function afterStatement(t: TempTables, change: TempTableChange, inBlock: boolean): TempTables {
  if (change.discards) return NO_TEMP_TABLES;
  const names = new Set(t.names);
  const createdInBlock = new Set(t.createdInBlock);
  const droppedInBlock = new Set(t.droppedInBlock);
  if (change.creates !== undefined) {
    // A name the session had before the block (dropped and created again in it) stays on a rollback.
    if (inBlock && !t.names.has(change.creates)) createdInBlock.add(change.creates);
    droppedInBlock.delete(change.creates);
    names.add(change.creates);
  }
  for (const d of change.drops ?? []) {
    if (inBlock) droppedInBlock.add(d);
    else names.delete(d);
  }
  return { names, createdInBlock, droppedInBlock };
}

/** The transaction block ended: committed, or rolled back. */
export function afterBlock(t: TempTables, committed: boolean): TempTables {
  if (t.createdInBlock.size === 0 && t.droppedInBlock.size === 0) return t;
  const names = new Set(t.names);
  if (committed) for (const d of t.droppedInBlock) names.delete(d);
  else for (const c of t.createdInBlock) names.delete(c);
  return { names, createdInBlock: new Set(), droppedInBlock: new Set() };
}

/** Whether a read uses one of the session's temporary tables (unqualified or in pg_temp). */
export function usesTempTable(t: TempTables, relations: readonly Relation[]): boolean {
  if (t.names.size === 0) return false;
  return relations.some((r) => (r.schema === undefined || r.schema === 'pg_temp') && t.names.has(r.name));
}
