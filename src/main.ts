#!/usr/bin/env node
// The entry point. First makes sure the process runs with the memory settings of the
// config's `runtime` section (re-executing Node with them when needed), and only then loads
// the bridge: nothing heavy is imported before that decision.
import { applyRuntimePlan } from './runtime/launch.js';

applyRuntimePlan(process.argv.slice(2));
await import('./cli.js');
