// The same types through require().
import cs = require('connector-state');

export async function check(): Promise<boolean> {
  const kv = await cs.openKv();
  const state = new cs.StateService(console);
  return state.acquireLock('cjs', kv, 1);
}
