// The published artifact: `npm pack`, installed into an empty project, then
// imported by name from Node (import and require), Deno, and TypeScript.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync, rmSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));
const bin = (name) => join(root, 'node_modules', '.bin', name);
const run = (cmd, args, cwd) => execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, npm_config_loglevel: 'error' } });

const script = `
  const kv = await openKv();
  const s = new StateService();
  const first = await s.acquireLock('pack', kv, 1);
  const second = await s.acquireLock('pack', kv, 1);
  const files = new VersoriFileTracker(kv, 'pack');
  await files.markFileProcessed('a b.csv');
  let code = '';
  try { await s.isFileProcessed(kv, ''); } catch (e) { code = e instanceof StateError ? e.code : 'wrong'; }
  console.log(JSON.stringify({ first, second, seen: await files.wasFileProcessed('a b.csv'), code }));
`;
const expected = { first: true, second: false, seen: true, code: 'INVALID_ARGUMENT' };

test('npm pack installs and runs in Node (import, require), Deno and TypeScript', { timeout: 300_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'cs-pack-'));
  try {
    run('npm', ['pack', '--pack-destination', dir, '--silent'], root);
    const tarball = readdirSync(dir).find((f) => f.endsWith('.tgz'));
    assert.ok(tarball, 'npm pack made no tarball');
    const listing = run('tar', ['tzf', join(dir, tarball)], dir);
    for (const file of ['package/pkg/connector_state_bg.wasm', 'package/js/index.d.ts', 'package/js/index.d.cts', 'package/js/node.mjs', 'package/js/testing.mjs', 'package/js/testing.d.ts', 'package/js/postgres.mjs', 'package/js/postgres.d.ts', 'package/js/redis.mjs', 'package/js/redis.d.ts', 'package/bin/connector-state.mjs', 'package/LICENSE', 'package/CHANGELOG.md', 'package/docs/api.md', 'package/examples/locking.ts']) {
      assert.ok(listing.includes(file), `${file} is missing from the tarball`);
    }
    const app = join(dir, 'app');
    execFileSync('mkdir', [app]);
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
    run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', join(dir, tarball)], app);

    writeFileSync(join(app, 'esm.mjs'), `import { StateService, VersoriFileTracker, StateError, openKv } from 'connector-state';\n${script}`);
    writeFileSync(join(app, 'cjs.cjs'), `const { StateService, VersoriFileTracker, StateError, openKv } = require('connector-state');\n(async () => {${script}})();`);
    writeFileSync(join(app, 'deno.ts'), `import { StateService, VersoriFileTracker, StateError, openKv } from 'connector-state';\n${script}`);
    for (const [cmd, args] of [
      ['node', ['esm.mjs']],
      ['node', ['cjs.cjs']],
      [bin('deno'), ['run', '--quiet', '--allow-read', '--allow-env', '--allow-ffi', 'deno.ts']],
    ]) {
      const out = run(cmd, args, app).trim().split('\n').pop();
      assert.deepEqual(JSON.parse(out), expected, `${cmd} ${args.join(' ')}`);
    }

    // The command and the test harness, as an installed package gives them.
    assert.match(run(join(app, 'node_modules', '.bin', 'connector-state'), ['help'], app), /connector-state inspect <store>/);
    writeFileSync(join(app, 'harness.mjs'), `import { createVersoriContext } from 'connector-state/testing';\nimport { VersoriFileTracker } from 'connector-state';\nconst ctx = createVersoriContext();\nawait new VersoriFileTracker(ctx.openKv(), 'p').markFileProcessed('x');\nconsole.log(ctx.openKv().entries().length);\n`);
    assert.equal(run('node', ['harness.mjs'], app).trim(), '1');
    // pg and ioredis are optional peers: not installed here, the package
    // still imports (its subpaths too), and a URL names the package to install.
    assert.ok(!existsSync(join(app, 'node_modules', 'pg')) && !existsSync(join(app, 'node_modules', 'ioredis')), 'npm installed an optional peer');
    // @deno/kv (a native addon) is an optional peer as well: without it the
    // embedded store works (above) and a SQLite file names the install command.
    assert.ok(!existsSync(join(app, 'node_modules', '@deno', 'kv')), 'npm installed @deno/kv');
    writeFileSync(join(app, 'sqlite.mjs'), `import { openKv } from 'connector-state';\nconst e = await openKv('state.sqlite').then(() => null, (e) => e);\nconsole.log(JSON.stringify({ code: e?.code, hint: /npm install @deno\\/kv/.test(e?.message) }));\n`);
    assert.deepEqual(JSON.parse(run('node', ['sqlite.mjs'], app).trim()), { code: 'STORE_UNAVAILABLE', hint: true });
    writeFileSync(join(app, 'drivers.mjs'), `import { openKv } from 'connector-state';\nimport { openPostgresKv } from 'connector-state/postgres';\nimport { openRedisKv } from 'connector-state/redis';\nconst out = [];\nfor (const open of [() => openKv('postgres://u:pw@127.0.0.1:1/db'), () => openKv('redis://127.0.0.1:1'), () => openPostgresKv({ connectionString: 'postgres://127.0.0.1:1/x' }), () => openRedisKv({ url: 'redis://127.0.0.1:1' })]) {\n  const e = await open().then(() => null, (e) => e);\n  out.push(e.code + ' ' + (/npm install (pg|ioredis)/.exec(e.message) ?? ['none'])[0] + (e.message.includes('pw') ? ' LEAK' : ''));\n}\nconsole.log(JSON.stringify(out));\n`);
    assert.deepEqual(JSON.parse(run('node', ['drivers.mjs'], app).trim()), ['STORE_UNAVAILABLE npm install pg', 'STORE_UNAVAILABLE npm install ioredis', 'STORE_UNAVAILABLE npm install pg', 'STORE_UNAVAILABLE npm install ioredis']);
    writeFileSync(join(app, 'harness.ts'), `import { createVersoriContext, type TestVersoriContext } from 'connector-state/testing';\nexport const ctx: TestVersoriContext = createVersoriContext({ now: 0 });\n`);
    writeFileSync(join(app, 'typed.ts'), `import { StateService, openKv, type LockInfo, type ServerKv } from 'connector-state';\nimport { openPostgresKv } from 'connector-state/postgres';\nimport { openRedisKv } from 'connector-state/redis';\nexport async function f(): Promise<LockInfo | null> { const kv = await openKv(); const s = new StateService(console); await s.acquireLock('t', kv, 1); return s.getLockInfo('t', kv); }\nexport async function g(): Promise<ServerKv[]> { return [await openKv('postgres://h/db', { namespace: 'n', table: 't' }), await openPostgresKv({ connectionString: 'postgres://h/db' }), await openRedisKv({ url: 'redis://h', namespace: 'n' })]; }\n`);
    writeFileSync(join(app, 'typed.cts'), `import cs = require('connector-state');\nexport const make = (): cs.StateService => new cs.StateService();\n`);
    writeFileSync(join(app, 'tsconfig.json'), JSON.stringify({ compilerOptions: { strict: true, noEmit: true, module: 'NodeNext', moduleResolution: 'NodeNext', target: 'ES2022', types: [] }, files: ['typed.ts', 'typed.cts', 'harness.ts'] }));
    run(bin('tsc'), ['-p', 'tsconfig.json'], app);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
