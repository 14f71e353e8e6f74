#!/usr/bin/env node
// Rewrites the README's parameter table from the schema (run after `npm run build`).
import fs from 'node:fs';
import { withParamsTable } from '../dist/config/params-doc.js';

fs.writeFileSync('README.md', withParamsTable(fs.readFileSync('README.md', 'utf8')));
console.log('README.md parameter table updated');
