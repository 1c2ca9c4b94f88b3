// The lifecycle tests' watcher: a RESP client on PSUBSCRIBE __jugglite__:*
// collecting every event as {channel, ...its JSON} in arrival order, as an
// app would read them.
//
//   const w = await watchLifecycle(port, { keep: (e) => e.scope !== 'cluster' });
//   … w.got …; w.close();

import { RawClient } from './rawclient.mjs';
import { decodeAll } from './resp.mjs';

/** opts.keep(event): false drops it (default: keep all); opts.timeout: for
 *  the PSUBSCRIBE confirmation; opts.ioredis: watch with ioredis, as an
 *  app would (c.closed turns true when the server closes it; it does not
 *  reconnect), instead of the harness's raw client. */
export async function watchLifecycle(port, opts = {}) {
  const keep = opts.keep || (() => true);
  if (opts.ioredis) return watchWithIoredis(port, keep);
  const c = await RawClient.connect(port);
  await c.send(['PSUBSCRIBE', '__jugglite__:*']);
  await c.readFrames(1, opts.timeout ?? 5000);
  const got = [];
  (async () => {
    for (;;) {
      let frame;
      try { frame = await c.readFrames(1, 3600000); } catch { return; }
      for (const f of decodeAll(frame)) {
        if (!Array.isArray(f) || String(f[0]) !== 'pmessage') continue;
        const e = { channel: String(f[2]), ...JSON.parse(String(f[3])) };
        if (keep(e)) got.push(e);
      }
    }
  })();
  return { c, got, close: () => c.close() };
}

async function watchWithIoredis(port, keep) {
  const { Redis } = await import('ioredis');
  const r = new Redis({ port, host: '127.0.0.1', lazyConnect: true, retryStrategy: () => null,
    maxRetriesPerRequest: 0, enableOfflineQueue: false });
  const c = { closed: false };
  r.on('end', () => { c.closed = true; });
  r.on('error', () => {});
  const got = [];
  r.on('pmessage', (pattern, channel, message) => {
    const e = { channel, ...JSON.parse(message) };
    if (keep(e)) got.push(e);
  });
  await r.connect();
  await r.psubscribe('__jugglite__:*');
  return { c, got, close: () => r.disconnect() };
}
