// Every code block of the README and of docs/ runs as pasted, in TypeScript:
// the ```ts blocks are type-checked together under `strict` by tsc and run
// in Node (the package by name); blocks that use Deno's own API go through
// `deno run --check`. Each block's `// →` comments are compared with what it
// prints. The `npx connector-state` lines of ```sh blocks run through the
// package's bin. Links between the pages are checked, and the generated
// report pages against bench/results/.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { assertPrints, expectedOutput } from './output.mjs';
import { startAll, startPostgres, startRedis } from '../servers.mjs';
import { filled, regions } from '../../scripts/docs.mjs';

const root = new URL('../..', import.meta.url);
const rootPath = fileURLToPath(root);
const pages = ['README.md', 'CHANGELOG.md', ...readdirSync(new URL('docs/', root)).filter((f) => f.endsWith('.md')).sort().map((f) => `docs/${f}`)];
const text = Object.fromEntries(pages.map((p) => [p, readFileSync(new URL(p, root), 'utf8')]));
const blocksOf = (page) => [...text[page].matchAll(/```(\w*)\n([\s\S]*?)```/g)].map((m) => ({ lang: m[1], code: m[2] }));
const snippets = pages.flatMap((page) => blocksOf(page).filter((b) => b.lang === 'ts').map((b, i) => ({ page, n: i + 1, code: b.code, deno: /\bDeno\.|from 'npm:/.test(b.code) })));
const nodeSnippets = snippets.filter((s) => !s.deno);
const denoSnippets = snippets.filter((s) => s.deno);
const fileOf = (s) => `${s.page.replace(/[/.]/g, '_')}_${s.n}`;
const title = (code) => code.split('\n').find((l) => l.trim() && !l.startsWith('import') && !l.startsWith('//'))?.trim().slice(0, 50);
// Inside the package, so 'connector-state' resolves to this checkout by name.
const scratch = new URL('tests/tmp/docs/', root);

let servers = [];
let compiled;
before(async () => {
  if (snippets.some((s) => /DATABASE_URL|REDIS_URL/.test(s.code))) {
    servers = await startAll(startPostgres, startRedis);
    process.env.DATABASE_URL = servers[0].url;
    process.env.REDIS_URL = servers[1].url;
  }
  rmSync(scratch, { recursive: true, force: true });
  mkdirSync(scratch, { recursive: true });
  for (const s of nodeSnippets) writeFileSync(new URL(`${fileOf(s)}.ts`, scratch), s.code);
  writeFileSync(new URL('tsconfig.json', scratch), JSON.stringify({
    compilerOptions: { strict: true, target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', lib: ['ES2022', 'ESNext.Disposable', 'DOM'], types: ['node'], outDir: 'out', rootDir: '.', skipLibCheck: false },
    include: ['*.ts'],
  }));
  // One tsc run type-checks every Node snippet; its errors name the page.
  try {
    execFileSync(fileURLToPath(new URL('node_modules/.bin/tsc', root)), ['-p', fileURLToPath(new URL('tsconfig.json', scratch))], { encoding: 'utf8', stdio: 'pipe', timeout: 120_000 });
    compiled = { ok: true };
  } catch (e) {
    compiled = { ok: false, output: `${e.stdout}${e.stderr}` };
  }
});
after(() => servers.forEach((s) => s.remove()));

test('the README is a path in: short, with the two commands, and docs behind it', () => {
  const lines = text['README.md'].split('\n').length;
  assert.ok(lines >= 150 && lines <= 250, `README has ${lines} lines`);
  assert.match(text['README.md'], /npm run demo[^\n]*\nnpm test/);
  for (const page of ['guarantees', 'api', 'stores', 'versori', 'leases', 'checkpoints', 'retries-and-jobs', 'cli', 'reliability', 'speed', 'migrating', 'development']) {
    assert.ok(pages.includes(`docs/${page}.md`), `docs/${page}.md`);
  }
  assert.ok(snippets.length >= 15, `${snippets.length} snippets`);
  assert.ok(denoSnippets.length >= 1);
  assert.deepEqual(pages.flatMap((p) => blocksOf(p).filter((b) => b.lang === 'js' || b.lang === 'javascript').map(() => p)), [], 'every snippet is TypeScript');
});

test('every Node snippet type-checks under strict', () => {
  assert.ok(compiled.ok, compiled.output?.replace(/([\w]+)_md_(\d+)\.ts/g, (_, page, n) => `${page}.md block ${n}`));
});

for (const s of nodeSnippets) {
  test(`${s.page} ts ${s.n} runs in Node: ${title(s.code)}`, () => {
    assert.ok(compiled.ok, 'the snippets do not type-check');
    const js = fileURLToPath(new URL(`out/${fileOf(s)}.js`, scratch));
    const stdout = execFileSync(process.execPath, [js], { cwd: fileURLToPath(scratch), stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8', timeout: 60_000 });
    assertPrints(stdout, expectedOutput(s.code));
  });
}

for (const s of denoSnippets) {
  test(`${s.page} ts ${s.n} type-checks and runs in Deno: ${title(s.code)}`, () => {
    const dir = new URL(`deno-${fileOf(s)}/`, scratch);
    mkdirSync(dir, { recursive: true });
    writeFileSync(new URL('main.ts', dir), s.code);
    // Until the package is published, its names point at this checkout.
    const entry = fileURLToPath(new URL('js/node.mjs', root));
    const testing = fileURLToPath(new URL('js/testing.mjs', root));
    writeFileSync(new URL('deno.json', dir), JSON.stringify({ imports: { 'npm:connector-state': entry, 'connector-state': entry, 'connector-state/testing': testing } }));
    const out = execFileSync(fileURLToPath(new URL('node_modules/.bin/deno', root)), ['run', '--check', '--quiet', '--unstable-kv', '--allow-read', '--allow-env', '--allow-ffi', '--config', 'deno.json', 'main.ts'], { cwd: fileURLToPath(dir), encoding: 'utf8', timeout: 120_000 });
    assert.ok(expectedOutput(s.code).length > 0, 'a Deno block documents its output with // →');
    assertPrints(out, expectedOutput(s.code), { anyQuotes: true });
  });
}

test('the connector-state commands of the docs run on a store', async () => {
  const dir = new URL('cli/', scratch);
  mkdirSync(dir, { recursive: true });
  const { openKv } = await import('@deno/kv');
  const { FileTracker, StateService } = await import('connector-state');
  const kv = await openKv(fileURLToPath(new URL('state.sqlite', dir)));
  await new StateService(null).acquireLock('nightly', kv, 5);
  await new FileTracker(kv, 'inventory').markProcessed('a.csv');
  kv.close();
  const lines = pages.flatMap((p) => blocksOf(p).filter((b) => b.lang === 'sh')).flatMap((b) => b.code.split('\n')).filter((l) => l.startsWith('npx connector-state '));
  assert.ok(lines.length >= 2);
  for (const line of lines) {
    // As a shell would: "$NAME" is the variable's value.
    const args = line.replace(/#.*$/, '').trim().split(/\s+/).slice(2).map((a) => a.replace(/^"?\$([A-Z_]+)"?$/, (_, name) => process.env[name] ?? ''));
    const out = execFileSync(process.execPath, [fileURLToPath(new URL('bin/connector-state.mjs', root)), ...args], { cwd: fileURLToPath(dir), encoding: 'utf8', timeout: 30_000 });
    assert.match(out, args[0] === 'copy' ? /verified: \d+ entries/ : args.includes('--namespace') ? /Tracked files \(1\)/ : /nightly/, line);
  }
});

test('every relative link of the README and docs leads to a file, and every #anchor to a heading', () => {
  const slug = (h) => h.trim().toLowerCase().replace(/[^\w\- ]/g, '').replace(/ /g, '-');
  const anchors = (page) => new Set([...text[page].replace(/```[\s\S]*?```/g, '').matchAll(/^#+ (.*)$/gm)].map((m) => slug(m[1])));
  const broken = [];
  let count = 0;
  for (const page of pages) {
    const prose = text[page].replace(/```[\s\S]*?```/g, '');
    for (const [, target] of prose.matchAll(/\]\(([^)\s]+)\)/g)) {
      if (/^[a-z]+:/.test(target)) continue;
      count++;
      const [path, anchor] = target.split('#');
      const resolved = path ? fileURLToPath(new URL(path, new URL(page, root))) : fileURLToPath(new URL(page, root));
      if (!existsSync(resolved)) broken.push(`${page}: ${target} (no such file)`);
      else if (anchor) {
        const rel = resolved.slice(rootPath.length);
        if (!text[rel]) broken.push(`${page}: ${target} (anchor into a page that is not checked)`);
        else if (!anchors(rel).has(anchor)) broken.push(`${page}: ${target} (no heading #${anchor})`);
      }
    }
  }
  assert.ok(count >= 20, `${count} links`);
  assert.deepEqual(broken, []);
  // On the registry page relative links resolve against the repository.
  const pkg = JSON.parse(readFileSync(new URL('package.json', root), 'utf8'));
  assert.match(pkg.repository.url, /^git\+https:\/\//);
  for (const dir of ['docs/', 'examples/', 'CHANGELOG.md', 'LICENSE']) assert.ok(pkg.files.includes(dir), `${dir} is in the tarball`);
});

test('the reliability and speed pages are generated from bench/results, not typed by hand', () => {
  for (const region of regions()) {
    assert.equal(filled(text[region.page], region), text[region.page], `${region.page}: run node scripts/docs.mjs`);
    // A figure changed by hand in the page is found.
    const tampered = text[region.page].replace(/\| (\d+) \|/, (_, n) => `| ${Number(n) + 1} |`);
    assert.notEqual(filled(tampered, region), tampered);
  }
});

test('the output check fails on other output, missing output or another order', () => {
  const code = "console.log(a); // → true\nconsole.log(b); // → [ 1, 2 ], then → done";
  assert.deepEqual(expectedOutput(code), ['true', '[ 1, 2 ]', 'done']);
  assertPrints('true\n[\n  1,\n  2\n]\ndone\n', expectedOutput(code));
  assert.throws(() => assertPrints('false\n[ 1, 2 ]\ndone\n', expectedOutput(code)), /expected it to print "true"/);
  assert.throws(() => assertPrints('true\n[ 1, 2 ]\n', expectedOutput(code)), /"done"/);
  assert.throws(() => assertPrints('done\ntrue\n[ 1, 2 ]\n', expectedOutput(code)), /"done"/);
  assert.throws(() => assertPrints('true\n[ 1, 2, 3 ]\ndone\n', expectedOutput(code)), /\[ 1, 2 \]/);
  assert.throws(() => assertPrints('truely\n[ 1, 2 ]\ndone\n', expectedOutput(code)), /"true"/);
  assertPrints('token 1795941414798 at 2026-01-01T00:00:00.000Z\n', ['token … at …Z']);
  assert.throws(() => assertPrints('token  at x\n', ['token … at …Z']));
  assertPrints('[ "a", "b" ]\n', ["[ 'a', 'b' ]"], { anyQuotes: true });
  assert.throws(() => assertPrints('[ "a", "b" ]\n', ["[ 'a', 'b' ]"]));
  assertPrints('a\nb\n\n', ['a', 'b'], { exact: true });
  assert.throws(() => assertPrints('a\nb\nextra\n', ['a', 'b'], { exact: true }), /more than documented/);
  assert.throws(() => assertPrints('a\nextra\nb\n', ['a', 'b'], { exact: true }), /nothing else between/);
  assertPrints('a\nextra\nb\n', ['a', 'b']);
});
