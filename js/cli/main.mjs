// connector-state: look into a store, and the operator actions that go with
// it. Run `connector-state help` for usage.
import process from 'node:process';
import { redactUrl } from '../stores/server.mjs';
import { checkFlags, openStore, safe, USAGE, UsageError, VALUED } from './common.mjs';
import { act } from './act.mjs';
import { copy } from './copy.mjs';
import { inspect, jsonSafe, render } from './inspect.mjs';

async function main(argv) {
  const flags = new Set(argv.filter((a) => a.startsWith('--') && !a.includes('=')));
  const values = Object.fromEntries(argv.filter((a) => a.startsWith('--') && a.includes('=')).map((a) => a.slice(2).split(/=(.*)/s).slice(0, 2)));
  const args = [];
  for (let i = 0; i < argv.length; i++) {
    if (VALUED.includes(argv[i])) {
      if (i + 1 >= argv.length) throw new UsageError(`${argv[i]} needs a value`);
      values[argv[i].slice(2)] = argv[++i];
      flags.delete(argv[i - 1]);
      continue;
    }
    if (!argv[i].startsWith('--')) args.push(argv[i]);
  }
  const [command, store, ...rest] = args;
  if (!command || command === 'help' || flags.has('--help')) {
    console.log(USAGE);
    return 0;
  }
  const actions = { 'release-lock': 1, 'forget-file': 2, requeue: 2, 'clear-checkpoint': 2, copy: 1 };
  if (command !== 'inspect' && !(command in actions)) throw new UsageError(`unknown command ${JSON.stringify(command)}`);
  checkFlags(command, argv);
  if (!store) throw new UsageError(`${command} needs a store: a SQLite file path, a denokv URL, or a postgres:// or redis:// URL`);
  if (command !== 'inspect' && rest.length !== actions[command]) throw new UsageError(`${command} takes ${actions[command] + 1} arguments`);
  // Every flag's value is checked before anything is opened.
  const minutes = values['stuck-minutes'] === undefined ? 60 : Number(values['stuck-minutes']);
  if (!(minutes > 0 && Number.isFinite(minutes))) throw new UsageError('--stuck-minutes must be a positive number');
  if (command === 'copy') return copy(store, rest[0], values, flags);
  const kv = await openStore(store, values.namespace, values.table);
  try {
    if (command === 'inspect') {
      const report = await inspect(kv, { stuckMs: minutes * 60_000 });
      // JSON escapes control characters itself; the text form goes line by line through safe().
      console.log(flags.has('--json') ? JSON.stringify(report, jsonSafe, 2) : render(report, redactUrl(store)));
      return 0;
    }
    return await act(kv, command, rest, flags.has('--yes'));
  } finally {
    await kv.close?.();
  }
}

/** Runs the command line on `argv` (without node and the script) and sets
 *  the exit code: 0 done, 1 failed or cancelled, 2 a usage error. */
export function run(argv) {
  return main(argv).then(
    (code) => {
      process.exitCode = code;
    },
    (e) => {
      if (e instanceof UsageError) {
        console.error(`connector-state: ${safe(e.message)}\n\n${USAGE}`);
        process.exitCode = 2;
      } else {
        console.error(safe(`connector-state: ${e.code ? `${e.code}: ` : ''}${e.message}`));
        process.exitCode = 1;
      }
    },
  );
}
