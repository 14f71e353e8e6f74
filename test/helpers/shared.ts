// Where the repository and its test fixtures are. The real pgpool sample configurations
// live in test/fixtures/conf-samples, so a plain clone runs every test: a missing fixture
// fails, never skips.
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const fixturesDir = path.join(repoRoot, 'test/fixtures');
export const confSamplesDir = path.join(fixturesDir, 'conf-samples');
