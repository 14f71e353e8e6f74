#!/usr/bin/env node
// Rewrites docs/errors.md from the error catalogue (run after `npm run build`).
import fs from 'node:fs';
import { errorsMarkdown } from '../dist/protocol/errors-doc.js';

fs.writeFileSync('docs/errors.md', errorsMarkdown());
console.log('docs/errors.md updated');
