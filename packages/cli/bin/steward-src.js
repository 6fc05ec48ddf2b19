#!/usr/bin/env node
// The CLI from its TypeScript sources through tsx: what the tests run, and the fallback of
// steward.js when the compiled build cannot be made.
import { register } from 'tsx/esm/api';

register();
await import('../src/main.ts');
