// A differential property test: random sequences of get / getMany / set /
// delete / list (every selector, reverse, cursors, limits, batch sizes) /
// atomic (checks and mutations), run on the embedded store and on
// @deno/kv's ':memory:' store, must give the same answers. Versionstamps
// are compared by order (which commit made them), not by value. The same
// check runs on the PostgreSQL and Redis stores (kv-servers.test.mjs).
import { test } from 'node:test';
import { openKv as openDenoKv } from '@deno/kv';
import { openKv } from 'connector-state';
import { agree } from '../kv/differential.mjs';

const SEQUENCES = Number(process.env.SEQ ?? 40);
const STEPS = Number(process.env.STEPS ?? 120);

test(`embedded store and @deno/kv agree on ${SEQUENCES} random sequences of ${STEPS} operations`, (t) =>
  agree(t, { sequences: SEQUENCES, steps: STEPS, openOurs: () => openKv(), openRef: () => openDenoKv(':memory:'), name: 'the embedded store' }));
