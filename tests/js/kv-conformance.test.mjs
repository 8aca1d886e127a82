// The embedded store (openKv()) against Deno KV's behaviour in Node, with
// @deno/kv's ':memory:' store as the reference: both must pass every case
// of tests/kv/conformance-cases.mjs (see there for where @deno/kv differs
// from Deno). tests/deno/kv-conformance.test.ts runs the same cases in
// Deno, with Deno.openKv itself as the reference.
import { test, describe } from 'node:test';
import { KvU64 as DenoKvU64, openKv as openDenoKv } from '@deno/kv';
import { KvU64, openKv } from 'connector-state';
import { kvConformance } from '../kv/conformance-cases.mjs';

describe('Deno KV conformance: embedded', () => kvConformance({ open: () => openKv(), test, KvU64 }));
describe('Deno KV conformance: @deno/kv :memory:', () => kvConformance({ open: () => openDenoKv(':memory:'), quirky: true, test, KvU64: DenoKvU64 }));
