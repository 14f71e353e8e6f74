// V8 flags for pgpool-ts's processes. The supervisor gets them from whoever starts it
// (conf/pgpool-ts.service's NODE_OPTIONS, the Dockerfile, `npm start`, the bench); a
// shebang cannot carry them portably (`env -S` is missing from BusyBox and older
// coreutils). Workers get them from workerExecArgv in any case.

/**
 * A 1 MB young generation (V8's default is 16 MB): the relay's short-lived objects stay in
 * the CPU caches (select-only TPS +27 %) and each process holds 5–30 MB less RSS
 * (bench/RESULTS.md, optimisation record).
 */
export const SMALL_YOUNG_GENERATION = '--max-semi-space-size=1';
