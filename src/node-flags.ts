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

/**
 * Transaction mode's workers: a fixed 16 MB young generation. With many clients on few
 * children a request waits in line for tens of milliseconds, outliving a 1 MB young
 * generation, so everything it holds was promoted and collected by mark-compact (45 MB a
 * second at 1,000 clients); at 16 MB it dies young. 1,000 clients: TPS +16 %, pooler CPU
 * per transaction −15 %; 64 clients: no change (bench/RESULTS.md). The minimum too: V8
 * grows the young generation towards its maximum only slowly.
 */
export const TRANSACTION_YOUNG_GENERATION: readonly string[] = ['--min-semi-space-size=16', '--max-semi-space-size=16'];
