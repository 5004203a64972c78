#!/usr/bin/env node
'use strict';
// Installed as `bellows-agent` (package.json "bin"); the agent itself is compiled TypeScript.
const fs = require('node:fs');
const path = require('node:path');

const entry = path.join(__dirname, '..', 'dist', 'agent', 'main.js');
if (!fs.existsSync(entry)) {
  console.error('bellows-agent: the agent is not built yet; run `npm run build` (or `npm run agent -- …`, which builds first).');
  process.exit(1);
}
require(entry);
