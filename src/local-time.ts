// pgpool's timestamp text, in the local time zone: "YYYY-MM-DD HH:MM:SS[.mmm]".
const pad = (n: number, w = 2) => String(n).padStart(w, '0');

export function localTimestamp(ms: number, withMs = false): string {
  const d = new Date(ms);
  const base = `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
  return withMs ? `${base}.${pad(d.getMilliseconds(), 3)}` : base;
}
