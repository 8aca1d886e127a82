// How the CLI tests run the command line. By default as a child process of
// bin/connector-state.mjs, as a user runs it. With
// CONNECTOR_STATE_CLI_IN_PROCESS=1 (which `npm run mutants` sets for the
// CLI run) in this process, through js/cli/main.mjs's run() with its output
// and exit code captured: the same code, and StrykerJS can then tell which
// test reaches which mutant (it cannot see into child processes).
import { execFile } from 'node:child_process';
import process from 'node:process';
import { fileURLToPath } from 'node:url';

export const bin = fileURLToPath(new URL('../../bin/connector-state.mjs', import.meta.url));
const inProcess = process.env.CONNECTOR_STATE_CLI_IN_PROCESS === '1';

let queue = Promise.resolve();

/** Runs the CLI with `args` and extra environment `env`: { code, stdout, stderr }. */
export function runCli(env, args, timeout = 30_000) {
  if (!inProcess) {
    return new Promise((resolve) => {
      execFile(process.execPath, [bin, ...args], { timeout, env: { ...process.env, ...env } }, (error, stdout, stderr) => resolve({ code: error ? error.code : 0, stdout, stderr }));
    });
  }
  return runInProcess(env, args);
}

/** The CLI run in this process, whatever the environment says. */
export function runInProcess(env, args) {
  // One at a time: console and process.exitCode are shared.
  const turn = queue.then(() => inThisProcess(env, args));
  queue = turn.catch(() => {});
  return turn;
}

async function inThisProcess(env, args) {
  const { run } = await import('../../js/cli/main.mjs');
  const out = [];
  const err = [];
  const saved = { log: console.log, error: console.error, env: { ...process.env }, exitCode: process.exitCode };
  console.log = (...a) => out.push(`${a.join(' ')}\n`);
  console.error = (...a) => err.push(`${a.join(' ')}\n`);
  Object.assign(process.env, env);
  process.exitCode = undefined;
  try {
    await run(args);
    return { code: process.exitCode ?? 0, stdout: out.join(''), stderr: err.join('') };
  } finally {
    console.log = saved.log;
    console.error = saved.error;
    for (const k of Object.keys(env)) {
      if (k in saved.env) process.env[k] = saved.env[k];
      else delete process.env[k];
    }
    process.exitCode = saved.exitCode;
  }
}
