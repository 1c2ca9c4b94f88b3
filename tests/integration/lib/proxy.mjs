// A byte-transparent TCP proxy on loopback, for tests of what a client does
// when its connection breaks (EventSource reconnects, Last-Event-ID resume).
//
//   const px = await startProxy(srv.ssePort);   // px.port: connect here
//   px.blackhole()   bytes the server sends on the connections open now are
//                    swallowed (the server believes they were delivered);
//                    px.swallowed() is the text swallowed so far
//   px.hold()        new connections are accepted but not forwarded yet
//   px.drop()        every open connection is destroyed, both sides
//   px.release()     the held connections are forwarded (and new ones again)
//   px.requests      the bytes each client sent first (its request head), in
//                    accept order, e.g. to read the Last-Event-ID it sent
//   await px.waitAccepted(n)   until n connections were accepted in total
//   await px.close()
//
// Registered with the harness, so teardown destroys it if a test does not.

import net from 'node:net';
import { trackSocket, untrackSocket, withTimeout } from './registry.mjs';

export async function startProxy(targetPort, { targetHost = '127.0.0.1' } = {}) {
  const pairs = new Set();
  let held = null;
  let swallowed = '';
  let accepted = 0;
  const waiters = new Set();
  const wake = () => { for (const w of [...waiters]) w(); };
  const px = {
    port: 0,
    requests: [],
    get accepted() { return accepted; },
    get open() { return pairs.size; },
    swallowed: () => swallowed,
    blackhole() { for (const p of pairs) p.blackholed = true; },
    hold() { if (!held) held = []; },
    drop() { for (const p of [...pairs]) p.destroy(); },
    release() {
      const h = held || [];
      held = null;
      for (const c of h) if (!c.destroyed) forward(c);
    },
    waitAccepted(n, timeout = 15000) {
      return withTimeout(new Promise((resolve) => {
        const w = () => { if (accepted >= n) { waiters.delete(w); resolve(accepted); } };
        waiters.add(w);
        w();
      }), timeout, `proxy: ${n} connections accepted (have ${accepted})`);
    },
    async close() {
      untrackSocket(px);
      px.drop();
      for (const c of held || []) c.destroy();
      held = null;
      await new Promise((r) => server.close(() => r()));
    },
    destroy() { px.close().catch(() => {}); },
  };

  function forward(client) {
    const upstream = net.connect(targetPort, targetHost);
    upstream.setNoDelay(true);
    const pair = {
      blackholed: false,
      destroy() { client.destroy(); upstream.destroy(); pairs.delete(pair); },
    };
    pairs.add(pair);
    const index = px.requests.length;
    px.requests.push('');
    client.on('data', (d) => {
      if (px.requests[index].length < 16384) px.requests[index] += d.toString('latin1');
      upstream.write(d);
    });
    upstream.on('data', (d) => {
      if (pair.blackholed) swallowed += d.toString('latin1');
      else client.write(d);
    });
    for (const s of [client, upstream]) {
      s.on('error', () => pair.destroy());
      s.on('close', () => pair.destroy());
    }
    client.on('end', () => upstream.end());
    upstream.on('end', () => client.end());
    client.resume();
  }

  const server = net.createServer({ pauseOnConnect: true }, (client) => {
    accepted++;
    client.setNoDelay(true);
    if (held) {
      held.push(client);
      client.on('error', () => {});
    } else {
      forward(client);
    }
    wake();
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => { server.off('error', reject); resolve(); });
  });
  px.port = server.address().port;
  trackSocket(px);
  return px;
}
