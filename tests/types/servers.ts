// The server stores' types: openKv with a URL, and the subpath entries.
import { openKv, describeStore, type ServerKv, type StoreCapabilities } from 'connector-state';
import { openPostgresKv } from 'connector-state/postgres';
import { openRedisKv } from 'connector-state/redis';

export async function servers(): Promise<string> {
  const pg: ServerKv = await openKv('postgres://user@127.0.0.1:5432/db', { namespace: 'team-a', table: 'state' });
  const redis: ServerKv = await openKv('redis://127.0.0.1:6379', { namespace: 'team-a' });
  // Any string URL takes the options (a Redis store refuses `table` at run time).
  const fromEnv: { close(): void | Promise<void> } = await openKv(String(process.env.REDIS_URL), { namespace: 'team-a' });
  await fromEnv.close();
  const own = await openPostgresKv({ connectionString: 'postgres://127.0.0.1/db', table: 'state', namespace: 'n' });
  const mine = await openRedisKv({ url: 'redis://127.0.0.1', namespace: 'n' });
  const caps: StoreCapabilities = describeStore(pg);
  const kind: 'postgres' | 'redis' | string = caps.kind;
  const res = await redis.atomic().check({ key: ['a'], versionstamp: null }).set(['a'], 1).sum(['n'], 1n).commit();
  await Promise.all([pg.close(), redis.close(), own.close(), mine.close()]);
  return kind + String(res.ok);
}
