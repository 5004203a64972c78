#!/usr/bin/env node
'use strict';
// Installed as `bellows-act` (package.json "bin"); the engine itself is compiled TypeScript.
const fs = require('node:fs');
const path = require('node:path');

const entry = path.join(__dirname, '..', 'dist', 'agent', 'act', 'cli.js');
if (!fs.existsSync(entry)) {
  console.error('bellows-act: the graph engine is not built yet; run `npm run build`.');
  process.exit(1);
}
require(entry).main();
