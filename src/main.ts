#!/usr/bin/env node
// The entry point. The admin console and `admin` talk to a running bridge over its socket and
// load nothing of the bridge. Otherwise: first makes sure the process runs with the memory
// settings of the config's `runtime` section (re-executing Node with them when needed), and
// only then loads the bridge: nothing heavy is imported before that decision.
if (process.argv[2] === 'console' || process.argv[2] === 'admin') {
  const { adminMain } = await import('./admin/adminMain.js');
  process.exit(await adminMain(process.argv.slice(2)));
}
const { applyRuntimePlan } = await import('./runtime/launch.js');
applyRuntimePlan(process.argv.slice(2));
await import('./cli.js');
