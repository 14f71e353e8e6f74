// The pgpool_status file (docs/behaviour.md#pgpool-status): one line per node id up to
// the highest configured one — `up` (waiting counts as up), `down` or `unused` — written
// on every status change and read at start, so that a detached node stays down across a
// restart; -D discards it. pgpool's format, in logdir (pgpool ≤ 4.6) or work_dir.
import fs from 'node:fs';
import path from 'node:path';
import type { PgpoolConfig } from '../config/schema.js';
import type { NodeSnapshot, NodeStatus } from '../ipc/node-snapshot.js';
import type { Logger } from '../logging/logger.js';

export type StatusWord = 'up' | 'down' | 'unused';

/** logdir when set (the pre-4.7 name), else work_dir; relative to pgpool.conf's directory. */
export function statusFilePath(cfg: Pick<PgpoolConfig, 'logdir' | 'work_dir'>, configDir: string): string {
  return path.join(path.resolve(configDir, cfg.logdir || cfg.work_dir), 'pgpool_status');
}

/** The file's lines for a snapshot: one per id from 0 to the highest node. */
export function statusLines(nodes: NodeSnapshot): StatusWord[] {
  const max = nodes.reduce((m, n) => Math.max(m, n.id), -1);
  const byId = new Map(nodes.map((n) => [n.id, n.status]));
  return Array.from({ length: max + 1 }, (_, id) => word(byId.get(id)));
}

function word(s: NodeStatus | undefined): StatusWord {
  if (s === 'down') return 'down';
  return s === undefined || s === 'unused' ? 'unused' : 'up';
}

/**
 * The statuses to restore, by node id: what the file says, or nothing when it is missing,
 * discarded (-D) or says no node is up (pgpool takes such a file for bogus).
 */
export function readStatusFile(file: string, discard: boolean, log: Logger): Map<number, 'up' | 'down'> {
  const out = new Map<number, 'up' | 'down'>();
  if (discard) {
    fs.rmSync(file, { force: true });
    log.info(`Backend status file ${file} discarded`);
    return out;
  }
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    log.info(`Backend status file ${file} does not exist`);
    return out;
  }
  text.split('\n').forEach((raw, id) => {
    const line = raw.trim();
    if (line === '' || line === 'unused') return;
    if (line === 'up' || line === 'down') {
      out.set(id, line);
      log.info(`reading status file: ${id} th backend is set to ${line} status`);
    } else log.warn('invalid data in status file, ignoring...');
  });
  if (![...out.values()].includes('up')) out.clear();
  return out;
}

/** Writes the file when what it would say changed; never a file saying every node is down. */
export class StatusFile {
  private written = '';

  constructor(
    private readonly file: () => string,
    private readonly log: () => Logger,
  ) {}

  update(nodes: NodeSnapshot): void {
    const lines = statusLines(nodes);
    const text = lines.map((l) => `${l}\n`).join('');
    if (text === this.written) return;
    if (lines.every((l) => l !== 'up')) {
      this.log().warn('All the DB nodes are in down status and skip writing status file.');
      return;
    }
    try {
      const fd = fs.openSync(this.file(), 'w');
      try {
        fs.writeSync(fd, text);
        fs.fsyncSync(fd);
      } finally {
        fs.closeSync(fd);
      }
      this.written = text;
    } catch (e) {
      this.log().warn({ file: this.file(), error: (e as Error).message }, 'could not write the pgpool_status file');
    }
  }
}
