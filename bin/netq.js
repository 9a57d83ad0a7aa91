#!/usr/bin/env node
// The `netq` command: runs the bundled CLI (npm ci / npm run build produce dist/; see scripts/bundle.mjs).
import '../dist/bundle/cli.js';
