// package-lock.json is what `npm install` writes on a fresh clone: a fresh
// install must not rewrite it (the peer dependencies pg and ioredis and
// their optional marks included), or every clone starts with a dirty tree.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));

test('npm install on a fresh clone leaves package-lock.json as committed', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cs-lock-'));
  try {
    copyFileSync(join(root, 'package.json'), join(dir, 'package.json'));
    copyFileSync(join(root, 'package-lock.json'), join(dir, 'package-lock.json'));
    // What a fresh clone's `npm install` does to the lockfile (without
    // downloading the packages themselves).
    execFileSync('npm', ['install', '--package-lock-only', '--ignore-scripts', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error'], { cwd: dir, stdio: 'pipe', timeout: 180_000 });
    const committed = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8'));
    const written = JSON.parse(readFileSync(join(dir, 'package-lock.json'), 'utf8'));
    assert.deepEqual(written, committed, 'npm install rewrites package-lock.json: run npm install and commit the lockfile');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
