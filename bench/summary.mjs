// The bench's arithmetic, pure: medians over rounds, and ratios taken within a round
// (each target against the reference measured in the same round) before their median,
// because the machine's speed drifts between rounds.

/** Median of the finite values; NaN when there is none. */
export function median(values) {
  const s = values.filter((x) => Number.isFinite(x)).sort((x, y) => x - y);
  if (s.length === 0) return NaN;
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/** The targets in the order round `round` measures them: rotated by one each round (A B C D, B C D A, …). */
export function roundOrder(targets, round) {
  return targets.map((_, i) => targets[(i + round) % targets.length]);
}

/**
 * One row per point and target: median TPS, CPU and RSS over rounds; median over rounds of
 * TPS divided by the reference's TPS in the same round; failed transactions summed; runs
 * that failed counted.
 */
export function summarize(results, targets) {
  const rows = [];
  for (const point of [...new Set(results.map((r) => r.point))]) {
    for (const target of targets) {
      const measured = results.filter((r) => r.point === point && r.target === target && r.tps);
      const ratio = (reference) =>
        median(
          measured.map((r) => {
            const base = results.find((x) => x.point === point && x.target === reference && x.round === r.round);
            return base?.tps ? r.tps / base.tps : NaN;
          }),
        );
      rows.push({
        point,
        target,
        tps: median(measured.map((r) => r.tps)),
        vsDirect: ratio('direct'),
        vsPgbouncer: ratio('pgbouncer'),
        vsPgpool2: ratio('pgpool2'),
        cpuPer10k: median(measured.map((r) => r.cpuPer10k)),
        rssMb: median(measured.map((r) => r.rssMb)),
        failed: measured.reduce((a, r) => a + (r.failed || 0), 0),
        errors: results.filter((r) => r.point === point && r.target === target && r.error).length,
      });
    }
  }
  return rows;
}
