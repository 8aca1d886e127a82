#!/usr/bin/env node
// connector-state: look into a store, and the operator actions that go with
// it (js/cli/). Run `connector-state help` for usage.
import process from 'node:process';
import { run } from '../js/cli/main.mjs';

run(process.argv.slice(2));
