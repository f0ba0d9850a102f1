#!/usr/bin/env node
// The CLI is TypeScript, run through tsx (a dependency of the repository), like the servers.
import { register } from 'tsx/esm/api';
register();
const { main } = await import('../src/main.ts');
process.exitCode = await main(process.argv.slice(2));
