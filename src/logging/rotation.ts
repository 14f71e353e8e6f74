// logging_collector's file names and rotation, as PostgreSQL's and pgpool's logger do
// them: log_filename is a strftime pattern in local time; log_rotation_age rotates at
// multiples of the age counted from local midnight; log_rotation_size rotates once the
// file reaches that size; log_truncate_on_rotation empties a file reused by a
// time-based rotation. Pure functions.

const pad = (n: number, w = 2) => String(n).padStart(w, '0');
const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** log_filename's strftime escapes (%Y %m %d %H %M %S %y %j %a %b %%) at local time `t` (ms). */
export function logFileName(pattern: string, t: number): string {
  const d = new Date(t);
  return pattern.replace(/%(.)/g, (all, c: string) => {
    switch (c) {
      case 'Y':
        return String(d.getFullYear());
      case 'y':
        return pad(d.getFullYear() % 100);
      case 'm':
        return pad(d.getMonth() + 1);
      case 'd':
        return pad(d.getDate());
      case 'H':
        return pad(d.getHours());
      case 'M':
        return pad(d.getMinutes());
      case 'S':
        return pad(d.getSeconds());
      case 'j':
        return pad(
          Math.floor(
            (new Date(d.getFullYear(), d.getMonth(), d.getDate()).getTime() -
              new Date(d.getFullYear(), 0, 1).getTime()) /
              86_400_000,
          ) + 1,
          3,
        );
      case 'a':
        return DAYS[d.getDay()];
      case 'b':
        return MONTHS[d.getMonth()];
      case '%':
        return '%';
      default:
        return all;
    }
  });
}

/** The next time-based rotation after `t` (ms), or Infinity when log_rotation_age is 0. */
export function nextRotationTime(t: number, ageMinutes: number): number {
  if (ageMinutes <= 0) return Infinity;
  const d = new Date(t);
  const midnight = new Date(d.getFullYear(), d.getMonth(), d.getDate()).getTime();
  const interval = ageMinutes * 60_000;
  return midnight + (Math.floor((t - midnight) / interval) + 1) * interval;
}

export interface RotationState {
  /** When the open file must give way by age (ms). */
  readonly nextByAge: number;
  /** Bytes written to the open file. */
  readonly size: number;
}

export type RotationCause = 'age' | 'size' | undefined;

/** Whether the open file is due for rotation at `now`. */
export function rotationDue(s: RotationState, now: number, sizeKb: number): RotationCause {
  if (now >= s.nextByAge) return 'age';
  if (sizeKb > 0 && s.size >= sizeKb * 1024) return 'size';
  return undefined;
}

/**
 * How to open the next file: PostgreSQL truncates only on a time-based rotation with
 * log_truncate_on_rotation, and only when the name is the same as a file it did not just write.
 */
export function openMode(
  cause: 'start' | 'age' | 'size' | 'reopen',
  truncateOnRotation: boolean,
  sameNameAsCurrent: boolean,
): 'append' | 'truncate' {
  return cause === 'age' && truncateOnRotation && !sameNameAsCurrent ? 'truncate' : 'append';
}
