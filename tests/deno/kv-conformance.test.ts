// The embedded store against Deno KV itself: the cases of
// tests/kv/conformance-cases.mjs on openKv() and on Deno.openKv(':memory:'),
// which must both pass every one.
import { KvU64, openKv } from 'connector-state';
import { kvConformance } from '../kv/conformance-cases.mjs';

const register = (store: string) => (title: string, fn: () => Promise<void>) => Deno.test(`${store}: ${title}`, fn);
kvConformance({ open: () => openKv(), test: register('embedded'), KvU64 });
kvConformance({ open: () => Deno.openKv(':memory:'), test: register('Deno.openKv'), KvU64: Deno.KvU64 });
