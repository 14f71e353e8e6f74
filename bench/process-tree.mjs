// /proc accounting for the bench scripts: a process and its descendants, and what each has used.
import fs from 'node:fs';

/** pid and every descendant's pid (through all threads' children lists). */
export function processTree(pid) {
  const out = [pid];
  for (let i = 0; i < out.length; i++) {
    try {
      for (const task of fs.readdirSync(`/proc/${out[i]}/task`)) {
        const kids = fs.readFileSync(`/proc/${out[i]}/task/${task}/children`, 'utf8').trim();
        if (kids) out.push(...kids.split(/\s+/).map(Number));
      }
    } catch {
      /* gone */
    }
  }
  return out;
}

/** Clock ticks per second of /proc/<pid>/stat's times (USER_HZ). */
export const TICKS_PER_SECOND = 100;

/** user, system and waited-for children's CPU (clock ticks) and RSS (KB) of one process, or undefined when it is gone. */
export function processUsage(pid) {
  try {
    const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    const rssKb = Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
    return { user: Number(f[11]), system: Number(f[12]), children: Number(f[13]) + Number(f[14]), rssKb };
  } catch {
    return undefined;
  }
}

/**
 * Proportional set size (KB) of one process: its private pages plus its share of pages
 * mapped by others too (forked children's copy-on-write pages, the node binary's text), so
 * that summed over a process tree it counts each page once. 0 when the process is gone.
 */
export function processPssKb(pid) {
  try {
    return Number(/^Pss:\s+(\d+)/m.exec(fs.readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'))?.[1] ?? 0);
  } catch {
    return 0;
  }
}
