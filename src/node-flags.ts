// V8 flags every pgpool-ts process runs with (supervisor: bin/pgpool-ts.js's shebang,
// the Dockerfile and `npm start`; workers: workerExecArgv).

/**
 * A 1 MB young generation (V8's default is 16 MB): the relay's short-lived objects stay in
 * the CPU caches (select-only TPS +27 %) and each process holds 5–30 MB less RSS
 * (bench/RESULTS.md, optimisation record).
 */
export const SMALL_YOUNG_GENERATION = '--max-semi-space-size=1';
