// Locates ../shared (reference material beside the repository). Tests that read the
// real pgpool sample files skip themselves when it is absent.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const confSamplesDir = path.resolve(repoRoot, '../shared/conf-samples');
export const haveConfSamples = fs.existsSync(confSamplesDir);
