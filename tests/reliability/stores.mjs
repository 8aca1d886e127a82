// Stores and implementations the reliability runs share: a @deno/kv SQLite
// file, a denokv server on 127.0.0.1, and either this package or
// fc-connect-sdk 0.1.56 (installed in bench/ only).
import { execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { openKv } from '@deno/kv';
import { freePort } from '../servers.mjs';

export const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Opens the store a spec names: { kind: 'sqlite', path }, { kind:
 *  'denokv', url, token }, or { kind: 'postgres' | 'redis', url, namespace }
 *  (this package's server stores, which 0.1.56 reaches through a
 *  Versori-style view of the same store). */
export async function openStore(spec) {
  if (spec.kind === 'sqlite') return openKv(spec.path);
  if (spec.kind === 'postgres' || spec.kind === 'redis') {
    const { openKv: openServerKv } = await import('connector-state');
    return openServerKv(spec.url, { namespace: spec.namespace });
  }
  if (spec.kind === 'denokv') {
    process.env.DENO_KV_ACCESS_TOKEN = spec.token;
    return openKv(spec.url);
  }
  throw new Error(`unknown store kind ${spec.kind}`);
}

/** This package, or fc-connect-sdk 0.1.56 from bench/node_modules. */
export async function loadImpl(name) {
  if (name === 'ours') return import('connector-state');
  if (name === '0.1.56') {
    const require = createRequire(join(root, 'bench', 'package.json'));
    return import(pathToFileURL(require.resolve('@fluentcommerce/fc-connect-sdk')).href);
  }
  throw new Error(`unknown implementation ${name}`);
}

export function haveLegacy() {
  return existsSync(join(root, 'bench', 'node_modules', '@fluentcommerce', 'fc-connect-sdk', 'package.json'));
}

/** A Versori-style view (get → value) of a Deno KV handle, for 0.1.56's Versori classes. */
export function versoriView(kv) {
  const key = (k) => (Array.isArray(k) ? k : [k]);
  return {
    async get(k) { return (await kv.get(key(k))).value ?? undefined; },
    async set(k, v) { await kv.set(key(k), v); },
    async delete(k) { await kv.delete(key(k)); },
  };
}

/** Deterministic shuffle (mulberry32). */
export function shuffled(items, seed) {
  const random = seeded(seed);
  const out = items.slice();
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

export function seeded(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function denokvBinary() {
  const candidates = [process.env.DENOKV_BIN, join(homedir(), '.cargo', 'bin', 'denokv')].filter(Boolean);
  return candidates.find((p) => existsSync(p)) ?? null;
}

/**
 * Starts `denokv serve` on 127.0.0.1 with a random access token. The server
 * runs under `timeout`, so it stops by itself even if this process dies;
 * `stop()` ends it sooner. `kill()` is a SIGKILL of the server itself and
 * `start()` brings it back on the same SQLite file and port (the restart
 * runs).
 */
export async function startDenoKv(sqlitePath, { lifetimeSeconds = 900 } = {}) {
  const binary = denokvBinary();
  if (!binary) throw new Error('denokv is not installed: run `npm run setup` (cargo install denokv)');
  const port = await freePort();
  const token = `t${Math.random().toString(36).slice(2)}${Date.now().toString(36)}`;
  let child = null;
  const running = () => child && child.exitCode === null && child.signalCode === null;
  const stop = () => { if (running()) child.kill('SIGTERM'); };
  process.once('exit', stop);
  const start = async () => {
    child = spawn('timeout', [String(lifetimeSeconds), binary, '--sqlite-path', sqlitePath, 'serve', '--access-token', token, '--addr', `127.0.0.1:${port}`], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d) => { stderr += d; });
    const deadline = Date.now() + 15_000;
    for (;;) {
      if (!running()) throw new Error(`denokv exited: ${stderr}`);
      if (stderr.includes('Listening on')) break;
      if (Date.now() > deadline) { stop(); throw new Error(`denokv did not start: ${stderr}`); }
      await sleep(50);
    }
  };
  const kill = async () => {
    // The server is the child of `timeout`.
    const pid = Number(execFileSync('pgrep', ['-P', String(child.pid)], { encoding: 'utf8' }).trim().split('\n')[0]);
    process.kill(pid, 'SIGKILL');
    while (running()) await sleep(20);
  };
  await start();
  const url = `http://127.0.0.1:${port}`;
  return { spec: { kind: 'denokv', url, token }, stop, start, kill, port };
}
