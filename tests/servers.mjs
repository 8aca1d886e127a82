// PostgreSQL and Redis servers for the tests: each in a temporary folder,
// on 127.0.0.1 only, on a free port, under `timeout` (so it stops by itself
// even if the test process dies without cleaning up), and stopped when the
// test process exits. `kill()` is a SIGKILL of the server itself, and
// `start()` brings it back on the same data, for the restart tests.
import { execFileSync, spawn } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

export async function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** Where initdb and postgres are: pg_config's bindir, else Debian's folder. */
export function postgresBin() {
  const candidates = [];
  try {
    candidates.push(execFileSync('pg_config', ['--bindir'], { encoding: 'utf8' }).trim());
  } catch {}
  try {
    for (const v of readdirSync('/usr/lib/postgresql').sort((a, b) => Number(b) - Number(a))) candidates.push(`/usr/lib/postgresql/${v}/bin`);
  } catch {}
  return candidates.find((dir) => existsSync(join(dir, 'initdb')) && existsSync(join(dir, 'postgres'))) ?? null;
}

/** The uid and gid of the postgres user when running as root (initdb
 *  refuses root), else nothing. */
function postgresUser() {
  if (process.getuid?.() !== 0) return {};
  const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
  const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
  return { uid, gid };
}

function track(server) {
  const stop = () => server.stop();
  process.once('exit', stop);
  return server;
}

async function waitFor(child, output, ready, what, ms = 30_000) {
  const deadline = Date.now() + ms;
  for (;;) {
    if (ready()) return;
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`${what} exited: ${output()}`);
    if (Date.now() > deadline) {
      // A server that never got ready must not keep the test process alive.
      child.kill('SIGKILL');
      throw new Error(`${what} did not start within ${ms} ms: ${output()}`);
    }
    await sleep(50);
  }
}

/**
 * Starts several servers at once; when one cannot start, the others that
 * did are removed before the error is thrown (a started server left behind
 * would keep the test process waiting until its lifetime ends).
 */
export async function startAll(...starters) {
  const settled = await Promise.allSettled(starters.map((start) => start()));
  const failed = settled.find((s) => s.status === 'rejected');
  if (failed) {
    for (const s of settled) if (s.status === 'fulfilled') (s.value.remove ?? s.value.stop)?.call(s.value);
    throw failed.reason;
  }
  return settled.map((s) => s.value);
}

/** A program on PATH (as setup finds it), else the first of `fallbacks` that exists. */
export function onPath(name, fallbacks = []) {
  for (const dir of (process.env.PATH ?? '').split(':').filter(Boolean)) {
    const candidate = join(dir, name);
    if (existsSync(candidate)) return candidate;
  }
  return fallbacks.find((p) => existsSync(p)) ?? null;
}

/**
 * Starts PostgreSQL: initdb into a temporary folder (as the postgres user
 * when this is root), then `postgres` listening on 127.0.0.1 and a socket in
 * that folder. Returns { url, port, dir, start, stop, kill }.
 */
export async function startPostgres({ lifetimeSeconds = 1200 } = {}) {
  const bin = postgresBin();
  if (!bin) throw new Error('PostgreSQL is not installed: run `npm run setup` (apt-get install postgresql)');
  const user = postgresUser();
  const dir = mkdtempSync(join(tmpdir(), 'cs-pg-'));
  if (user.uid !== undefined) chownSync(dir, user.uid, user.gid);
  const data = join(dir, 'data');
  execFileSync(join(bin, 'initdb'), ['-D', data, '-U', 'postgres', '-A', 'trust', '--no-sync', '-E', 'UTF8'], { ...user, stdio: 'ignore' });
  const port = await freePort();
  let child = null;
  let log = '';
  const server = {
    port,
    dir,
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    async start() {
      log = '';
      child = spawn('timeout', ['-s', 'INT', String(lifetimeSeconds), join(bin, 'postgres'), '-D', data, '-k', dir, '-h', '127.0.0.1', '-p', String(port),
        '-c', 'fsync=off', '-c', 'max_connections=100', '-c', 'shared_buffers=32MB'], { ...user, stdio: ['ignore', 'ignore', 'pipe'] });
      child.stderr.on('data', (d) => { log += d; });
      await waitFor(child, () => log, () => log.includes('ready to accept connections'), 'postgres');
    },
    /** The postmaster's pid (from postmaster.pid). */
    pid() {
      return Number(readFileSync(join(data, 'postmaster.pid'), 'utf8').split('\n')[0]);
    },
    /** SIGKILL of the server; its data stays for start(). */
    async kill() {
      const pid = server.pid();
      process.kill(pid, 'SIGKILL');
      while (child.exitCode === null && child.signalCode === null) await sleep(20);
      // Its backends notice the postmaster is gone and exit.
      for (let i = 0; i < 100; i++) {
        try {
          execFileSync('pgrep', ['-f', data], { stdio: 'ignore' });
        } catch {
          break;
        }
        await sleep(50);
      }
    },
    stop() {
      if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGINT');
      try {
        execFileSync('pkill', ['-9', '-f', data], { stdio: 'ignore' });
      } catch {}
    },
    remove() {
      server.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  await server.start();
  return track(server);
}

/**
 * Starts redis-server on 127.0.0.1 in a temporary folder, with
 * `--save '' --appendonly yes --appendfsync always`. Returns { url, port,
 * dir, start, stop, kill, flushRestart }.
 */
export async function startRedis({ lifetimeSeconds = 1200 } = {}) {
  // Where setup accepts it: anywhere on PATH (then Debian's and /usr/local's).
  const binary = onPath('redis-server', ['/usr/bin/redis-server', '/usr/local/bin/redis-server', '/usr/sbin/redis-server']);
  if (!binary) throw new Error('redis-server is not installed: run `npm run setup` (apt-get install redis-server)');
  const dir = mkdtempSync(join(tmpdir(), 'cs-redis-'));
  const port = await freePort();
  let child = null;
  let log = '';
  const server = {
    port,
    dir,
    url: `redis://127.0.0.1:${port}`,
    async start() {
      log = '';
      child = spawn('timeout', [String(lifetimeSeconds), binary, '--port', String(port), '--bind', '127.0.0.1', '--dir', dir,
        '--save', '', '--appendonly', 'yes', '--appendfsync', 'always', '--maxmemory-policy', 'noeviction',
        '--pidfile', join(dir, 'redis.pid'), '--daemonize', 'no', '--logfile', ''], { stdio: ['ignore', 'pipe', 'pipe'] });
      child.stdout.on('data', (d) => { log += d; });
      child.stderr.on('data', (d) => { log += d; });
      await waitFor(child, () => log, () => log.includes('Ready to accept connections'), 'redis-server');
    },
    pid() {
      return Number(readFileSync(join(dir, 'redis.pid'), 'utf8').trim());
    },
    async kill() {
      process.kill(server.pid(), 'SIGKILL');
      while (child.exitCode === null && child.signalCode === null) await sleep(20);
    },
    /** Kills the server and starts it again without its data. */
    async restartEmpty() {
      await server.kill();
      rmSync(join(dir, 'appendonlydir'), { recursive: true, force: true });
      await server.start();
    },
    stop() {
      if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    },
    remove() {
      server.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  await server.start();
  return track(server);
}

/**
 * A TCP proxy on 127.0.0.1 in front of `targetPort`: `stall()` stops it
 * forwarding anything, in either direction, on every connection (as a
 * network that drops packets does: calls hang, nothing errors);
 * `resume()` forwards again; `close()` ends it.
 */
export async function stallingProxy(targetPort) {
  const { createConnection } = await import('node:net');
  let stalled = false;
  const pairs = new Set();
  const server = createServer((client) => {
    const upstream = createConnection({ host: '127.0.0.1', port: targetPort });
    const pair = { client, upstream };
    pairs.add(pair);
    const forward = (from, to) => from.on('data', (d) => { if (!stalled) to.write(d); });
    forward(client, upstream);
    forward(upstream, client);
    const end = () => { client.destroy(); upstream.destroy(); pairs.delete(pair); };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: server.address().port,
    stall() { stalled = true; },
    resume() { stalled = false; },
    close() {
      for (const { client, upstream } of pairs) { client.destroy(); upstream.destroy(); }
      server.close();
    },
  };
}
