// The operator actions: release a lock, forget a file, requeue a retry,
// clear a checkpoint; each asks before it changes anything.
import { CheckpointStore, FileTracker, IndexedFileTracker, RetryTracker, StateService } from '../node.mjs';
import { cancelled, confirm, say, silent } from './common.mjs';

export async function act(kv, command, args, yes) {
  const quiet = silent;
  if (command === 'release-lock') {
    const [name] = args;
    const state = new StateService(quiet);
    const info = await state.getLockInfo(name, kv);
    if (!info?.isLocked) {
      say(`lock ${JSON.stringify(name)} is not locked: nothing to do`);
      return 0;
    }
    if (!(await confirm(`Force-release lock ${JSON.stringify(name)}${info.holder ? ` held by ${info.holder}` : ''}${info.held ? ` (still live until ${info.expiresAt})` : ' (stale)'}?`, yes))) {
      return cancelled();
    }
    await state.forceReleaseLock(name, kv);
    say(`released lock ${JSON.stringify(name)}`);
    return 0;
  }
  if (command === 'forget-file') {
    const [prefix, name] = args;
    const files = new FileTracker(kv, { prefix });
    const indexed = new IndexedFileTracker(kv, { prefix, log: quiet });
    // Whether there is a record, without reading it: a damaged one is forgotten too.
    const inFiles = await files.isProcessed(name);
    const inIndexed = await indexed.isProcessed(name);
    if (!inFiles && !inIndexed) {
      say(`no record of ${JSON.stringify(name)} under prefix ${JSON.stringify(prefix)}: nothing to do`);
      return 0;
    }
    if (!(await confirm(`Forget ${JSON.stringify(name)} under ${JSON.stringify(prefix)}? The next run will process it again.`, yes))) return cancelled();
    if (inFiles) await files.forget(name);
    if (inIndexed) await indexed.remove(name);
    say(`forgot ${JSON.stringify(name)} (${[inFiles && 'FileTracker', inIndexed && 'IndexedFileTracker'].filter(Boolean).join(' and ')})`);
    return 0;
  }
  if (command === 'requeue') {
    const [namespace, item] = args;
    const retries = new RetryTracker(kv, { namespace, log: quiet });
    const current = await retries.get(item);
    if (!current) {
      say(`no retry state for ${JSON.stringify(item)} in ${JSON.stringify(namespace)}: nothing to do`);
      return 0;
    }
    if (!(await confirm(`Requeue ${JSON.stringify(item)} (${current.status}, ${current.attempts} attempts, last error: ${current.lastError})?`, yes))) return cancelled();
    await retries.requeue(item);
    say(`requeued ${JSON.stringify(item)}: it is due now`);
    return 0;
  }
  const [namespace, name] = args;
  const checkpoint = new CheckpointStore(kv, { namespace, log: quiet }).open(name);
  if ((await checkpoint.load()).reason === 'missing') {
    say(`no checkpoint ${namespace}/${name}: nothing to do`);
    return 0;
  }
  if (!(await confirm(`Clear checkpoint ${namespace}/${name}? The next run starts from the beginning.`, yes))) return cancelled();
  await checkpoint.clear();
  say(`cleared checkpoint ${namespace}/${name}`);
  return 0;
}
