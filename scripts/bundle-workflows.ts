import fs from 'node:fs';
import path from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';

// Runs after tsc (`npm run build`): pre-bundling lets the worker start in about a second instead of
// running webpack on every boot. Paths are relative to this compiled file (dist/scripts/).
const workflowsDir = path.resolve(__dirname, '..', 'workflows');
const bundleFile = path.resolve(__dirname, '..', 'workflow-bundle.js');

async function main(): Promise<void> {
  if (!fs.existsSync(path.join(workflowsDir, 'index.js'))) {
    // A stale bundle would silently run workflow code that no longer exists in the source.
    fs.rmSync(bundleFile, { force: true });
    process.stderr.write(`bundle-workflows: ${path.relative(process.cwd(), workflowsDir)}/index.js not found; no workflow bundle written\n`);
    return;
  }
  const started = Date.now();
  const { code } = await bundleWorkflowCode({
    workflowsPath: require.resolve(workflowsDir),
    logger: {
      // webpack's info chatter drowns the build output; keep warnings and errors.
      log: () => undefined,
      trace: () => undefined,
      debug: () => undefined,
      info: () => undefined,
      warn: (message) => process.stderr.write(`bundle-workflows: ${message}\n`),
      error: (message) => process.stderr.write(`bundle-workflows: ${message}\n`),
    },
  });
  const tmp = `${bundleFile}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, code);
  fs.renameSync(tmp, bundleFile);
  process.stdout.write(`bundle-workflows: wrote ${path.relative(process.cwd(), bundleFile)} (${Math.round(code.length / 1024)} KiB) in ${Date.now() - started} ms\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`bundle-workflows: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
