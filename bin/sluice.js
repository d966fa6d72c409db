#!/usr/bin/env node
// The published entry point runs the compiled CLI (built by `npm ci` through `prepare`).
// The module hooks come first (a static import would resolve the CLI's whole graph before
// they exist): they keep @kubernetes/client-node's generated APIs out of start-up.
import '../dist/kube/library-hooks.js';

const { run } = await import('../dist/cli/main.js');
await run(process.argv);
