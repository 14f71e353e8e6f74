#!/usr/bin/env node
import module from 'node:module';

// Node 22.1+: compiled code is kept on disk (os.tmpdir()/node-compile-cache unless
// NODE_COMPILE_CACHE names a directory), so a restart loads the supervisor and its workers
// faster (docs/behaviour.md#processes); the workers inherit the directory. Quietly does
// nothing where it cannot (Node 20, a read-only directory, NODE_DISABLE_COMPILE_CACHE=1).
const cache = module.enableCompileCache?.();
if (cache?.directory) process.env.NODE_COMPILE_CACHE = cache.directory;

const { main } = await import('../dist/cli.js');

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e) => {
    process.stderr.write(`pgpool-ts: ${e?.stack ?? e}\n`);
    process.exit(3);
  },
);
