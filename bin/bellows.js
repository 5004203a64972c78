#!/usr/bin/env node
'use strict';
// Installed as `bellows` (package.json "bin"); the CLI itself is compiled TypeScript.
const fs = require('node:fs');
const path = require('node:path');

const entry = path.join(__dirname, '..', 'dist', 'cli', 'main.js');
if (!fs.existsSync(entry)) {
  console.error('bellows: the CLI is not built yet; run `npm run build`.');
  process.exit(1);
}
const { main } = require(entry);
main(process.argv.slice(2)).then((code) => {
  process.stdout.write('', () => process.exit(code));
});
