#!/usr/bin/env node
// The `netq` command: runs the compiled CLI (npm ci / npm run build produce dist/).
import '../dist/producers/cli.js';
