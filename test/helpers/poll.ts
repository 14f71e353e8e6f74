// Waiting for what a real system does in its own time (a replication check, a standby
// replaying): `check` again every `stepMs` until it holds, or fail naming `what`.

export async function pollUntil(
  check: () => boolean | Promise<boolean>,
  what: string | (() => string),
  timeoutMs = 10_000,
  stepMs = 100,
): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${typeof what === 'string' ? what : what()}`);
    await new Promise((r) => setTimeout(r, stepMs));
  }
}
