// What the command line's commands share: usage, flags, terminal-safe
// output, opening a store, asking before a change.
import process from 'node:process';
import { openKv } from '../node.mjs';
import { existsSync } from 'node:fs';
import { createInterface } from 'node:readline/promises';
import { __nearest } from '../../pkg/connector_state.js';

export const USAGE = `connector-state: inspect and repair connector-state stores

usage:
  connector-state inspect <store> [--json] [--stuck-minutes N]
  connector-state release-lock <store> <lock-name> [--yes]
  connector-state forget-file <store> <prefix> <file-name> [--yes]
  connector-state requeue <store> <namespace> <item> [--yes]
  connector-state clear-checkpoint <store> <namespace> <name> [--yes]
  connector-state copy <from-store> <to-store> [--include-locks] [--into-non-empty]

<store> is a SQLite file written through Deno KV (@deno/kv, Deno.openKv), a
denokv URL (http://host:port; set DENO_KV_ACCESS_TOKEN), or a PostgreSQL or
Redis URL (postgres://…, redis://…) with --namespace NAME (default
'default') and, for PostgreSQL, --table NAME. copy takes --from-namespace,
--to-namespace, --from-table and --to-table for each side.
Actions ask before changing anything; --yes answers for you (needed when
there is no terminal to ask).`;

export class UsageError extends Error {}

export const HOUR = 3_600_000;
export const silent = { info() {}, warn() {}, error() {}, debug() {} };

/** Flags each command takes; anything else is a usage error. */
export const SERVER = ['--namespace', '--table'];
export const FLAGS = {
  inspect: ['--json', '--stuck-minutes', ...SERVER],
  'release-lock': ['--yes', ...SERVER],
  'forget-file': ['--yes', ...SERVER],
  requeue: ['--yes', ...SERVER],
  'clear-checkpoint': ['--yes', ...SERVER],
  copy: ['--include-locks', '--into-non-empty', '--from-namespace', '--to-namespace', '--from-table', '--to-table'],
};
/** Flags that take a value (`--flag value` or `--flag=value`). */
export const VALUED = ['--stuck-minutes', '--namespace', '--table', '--from-namespace', '--to-namespace', '--from-table', '--to-table'];

/**
 * Text from a store (or from the command line) made safe for a terminal:
 * control characters (an ESC sequence, a newline that would forge a line,
 * C1 controls, bidi overrides, line separators) are written as escapes, so
 * one record is one line and nothing rewrites the operator's screen.
 */
export function safe(text) {
  return String(text).replace(/[\u0000-\u001f\u007f-\u009f\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\\]/g, (c) => {
    if (c === '\\') return '\\\\';
    const named = { '\n': '\\n', '\r': '\\r', '\t': '\\t' }[c];
    return named ?? `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;
  });
}

/** console.log of one line of text that may hold store data. */
export const say = (text) => console.log(safe(text));

/** Whether `store` names a local file (not a URL, not the embedded ':memory:'). */
export const isFilePath = (store) => store !== ':memory:' && !/^[a-z][a-z0-9+.-]*:\/\//i.test(store);

/** Opens a store the way the commands name it; options only for the server stores.
 *  A file that does not exist is refused (opening would create an empty
 *  store), unless `create` (the target of a copy). */
export async function openStore(store, namespace, table, { create = false } = {}) {
  if (!create && isFilePath(store) && !existsSync(store)) {
    throw new UsageError(`no store at ${store}: the file does not exist (check the path; nothing was created)`);
  }
  const server = /^(postgres(ql)?|rediss?):\/\//i.test(store);
  if (!server && (namespace !== undefined || table !== undefined)) {
    throw new UsageError('--namespace and --table are for PostgreSQL and Redis stores (postgres://…, redis://…)');
  }
  if (/^rediss?:/i.test(store) && table !== undefined) throw new UsageError('--table is for PostgreSQL stores');
  try {
    if (!server) return await openKv(store);
    return await openKv(store, /^redis/i.test(store) ? { namespace } : { namespace, table });
  } catch (e) {
    if (/^https?:/.test(store) && /\b401\b/.test(e.message)) {
      e.message += " (set DENO_KV_ACCESS_TOKEN to the server's access token)";
    }
    throw e;
  }
}

export function checkFlags(command, argv) {
  const allowed = [...(FLAGS[command] ?? []), '--help'];
  for (const arg of argv.filter((a) => a.startsWith('--'))) {
    const flag = arg.split('=')[0];
    if (allowed.includes(flag)) continue;
    const elsewhere = Object.entries(FLAGS).filter(([, f]) => f.includes(flag)).map(([c]) => c);
    const close = __nearest(flag, allowed);
    const hint = elsewhere.length ? ` (it belongs to ${elsewhere.join(', ')})` : close ? ` (did you mean ${close}?)` : '';
    throw new UsageError(`unknown flag ${flag} for ${command}${hint}`);
  }
}

export async function confirm(question, yes) {
  if (yes) return true;
  if (!process.stdin.isTTY) throw new UsageError('no terminal to ask for confirmation: add --yes to go ahead');
  const rl = createInterface({ input: process.stdin, output: process.stdout });
  try {
    return /^y(es)?$/i.test((await rl.question(`${safe(question)} [y/N] `)).trim());
  } finally {
    rl.close();
  }
}

export function cancelled() {
  say('cancelled: nothing changed');
  return 1;
}
