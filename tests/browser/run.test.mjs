// Loads the package's browser entry in headless Chromium from a server on
// 127.0.0.1 and checks what the page computed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { readFile, mkdtemp, rm } from 'node:fs/promises';
import { execFile } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join, normalize, extname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));
const types = { '.html': 'text/html', '.mjs': 'text/javascript', '.js': 'text/javascript', '.wasm': 'application/wasm' };
const chromium = process.env.CHROMIUM ?? '/usr/bin/chromium';

test('the browser entry works in headless Chromium', async () => {
  const server = createServer(async (req, res) => {
    const path = normalize(decodeURIComponent(new URL(req.url, 'http://x').pathname));
    try {
      const body = await readFile(join(root, path));
      res.writeHead(200, { 'content-type': types[extname(path)] ?? 'application/octet-stream' });
      res.end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const profile = await mkdtemp(join(tmpdir(), 'cs-chrome-'));
  try {
    const url = `http://127.0.0.1:${server.address().port}/tests/browser/index.html`;
    const dom = await new Promise((resolve, reject) => {
      execFile(chromium, [
        '--headless=new', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-quic', '--no-first-run',
        '--disable-background-networking', '--disable-component-update', '--disable-sync', `--user-data-dir=${profile}`,
        '--virtual-time-budget=10000', '--dump-dom', url,
      ], { timeout: 60_000 }, (error, stdout) => (error ? reject(error) : resolve(stdout)));
    });
    const match = dom.match(/RESULT (\{.*\})/);
    assert.ok(match, `page did not finish: ${dom.match(/<pre id="out">([\s\S]*?)<\/pre>/)?.[1]}`);
    assert.deepEqual(JSON.parse(match[1].replaceAll('&quot;', '"')), {
      checkpoint: true, listed: ['one.csv'], retryAttempts: 1, winners: 1, processed: true, collision: false, fileError: 'INVALID_ARGUMENT',
      lease: { leaseTaken: false, leaseAliveAfterTtl: true, lost: 'LOCK_NOT_HELD' },
      // The value limit is estimated in browsers (no V8 serializer); these two agree with Deno.
      denoKv: { order: ['bytes', 'string', 'bigint', 'number', 'boolean'], cursor: 'AmIA', map: 0, u64: '3', stringKey: 'TypeError', tooLarge: 'TypeError', wide: 'accepted', junkCursor: 'TypeError' },
    });
  } finally {
    server.close();
    await rm(profile, { recursive: true, force: true });
  }
});
