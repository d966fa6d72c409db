#!/usr/bin/env node
// The published entry point runs the compiled CLI (built by `npm ci` through `prepare`).
import { run } from '../dist/cli/main.js';

await run(process.argv);
