// disable_load_balance_on_write = dml_adaptive (docs/behaviour.md#dml-adaptive), pure:
// inside a transaction, the relations a statement that is not a read mentions are
// remembered, with the objects dml_adaptive_object_relationship_list makes depend on them
// (a `name()` on the left is a function a read calls); a later read of any remembered
// relation goes to the primary. The list lives only while the transaction does.

/** One `left:right` entry; a left side ending in `()` names a function. */
export interface RelationshipEntry {
  readonly left: string;
  readonly leftIsFunction: boolean;
  readonly right: string;
}

/**
 * Parses dml_adaptive_object_relationship_list: comma-separated `object:dependent`
 * pairs, names compared case-insensitively (stored lower-case). Throws naming the entry.
 */
export function parseRelationshipList(text: string): RelationshipEntry[] {
  if (text.trim() === '') return [];
  return text.split(',').map((raw) => {
    const item = raw.trim();
    const parts = item.split(':').map((s) => s.trim());
    if (parts.length !== 2 || parts[0] === '' || parts[1] === '')
      throw new Error(`invalid entry "${item}": expected object:dependent_object`);
    const leftIsFunction = parts[0].length > 2 && parts[0].endsWith('()');
    const left = (leftIsFunction ? parts[0].slice(0, -2) : parts[0]).toLowerCase();
    const right = (parts[1].endsWith('()') ? parts[1].slice(0, -2) : parts[1]).toLowerCase();
    return { left, leftIsFunction, right };
  });
}

/** What one statement tells the bookkeeping. */
export interface DmlStatement {
  /** is_select_query() was true (text rule included). */
  readonly read: boolean;
  /** Every relation name the statement mentions (unqualified). */
  readonly relations: readonly string[];
  /** The functions it calls (possibly qualified). */
  readonly functions: readonly string[];
}

/**
 * The written set after a statement of a transaction: a statement that is not a read adds
 * each relation it mentions and their dependents; a read adds the dependents of the
 * functions it calls. Returns the same set object when nothing was added.
 */
export function writtenAfter(
  written: ReadonlySet<string>,
  s: DmlStatement,
  list: readonly RelationshipEntry[],
): ReadonlySet<string> {
  const add: string[] = [];
  const dependents = (name: string, isFunction: boolean) => {
    for (const e of list) if (e.leftIsFunction === isFunction && e.left === name) add.push(e.right);
  };
  if (!s.read)
    for (const r of s.relations) {
      const name = r.toLowerCase();
      add.push(name);
      dependents(name, false);
    }
  for (const f of s.functions) dependents(f.slice(f.lastIndexOf('.') + 1).toLowerCase(), true);
  const fresh = add.filter((n) => !written.has(n));
  return fresh.length === 0 ? written : new Set([...written, ...fresh]);
}

/** A read mentioning a relation written earlier in the transaction: it goes to the primary. */
export function readsWritten(written: ReadonlySet<string>, relations: readonly string[]): boolean {
  if (written.size === 0) return false;
  return relations.some((r) => written.has(r.toLowerCase()));
}
