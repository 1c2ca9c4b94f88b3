// Hostile clients on the RESP listener. Each test attacks one limit and then
// checks three things: the server is still up, every other client is
// unaffected (a fresh subscriber and already-connected ones still get their
// messages), and the server's memory is back near where it started.
// Nothing here measures speed; sizes shrink under sanitizers (JL_SANITIZED=1)
// and valgrind (JUGGLITE_WRAPPER).

import { test, describe, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { startJugglite, RawClient, encode, sleep } from './lib/harness.mjs';
import {
  rss, rssSettles, withPeakRss, fmtMiB, MiB, RSS_SLACK, scaled, serverEnv, info,
  subscriber, assertServing, messageFrame, trickle, rawConnect, tracked,
  socketClosed, cpuSeconds,
} from './lib/hostile.mjs';

const T = { timeout: 120000 };

async function start(args = []) {
  const srv = await startJugglite({ args, env: serverEnv(), logLevel: 'info' });
  srv.pid = srv.proc.pid;
  return srv;
}

/** Counts `want` bytes arriving on RawClient c without buffering them
 *  (RawClient concatenates on every chunk: quadratic for tens of MB).
 *  Returns {first, last}: the first and last chunks. */
function countBytes(c, want, kick, timeout = 60000) {
  c.sock.removeAllListeners('data');
  let n = 0;
  let first = null;
  let last = null;
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`got ${n} of ${want} bytes`)), timeout);
    c.sock.on('data', (d) => {
      first ??= d;
      last = d;
      n += d.length;
      if (n >= want) { clearTimeout(t); resolve({ first, last, n }); }
    });
    c.sock.once('close', () => { clearTimeout(t); reject(new Error(`closed after ${n} of ${want} bytes`)); });
    kick().catch(reject);
  });
}

/** Reads everything until the peer closes; returns the bytes. */
async function readToClose(c, timeout = 20000) {
  await c.waitClose(timeout);
  return c.buf;
}

describe('hostile RESP clients', () => {
  // Each test gets its own server, so that one failure cannot spill into the
  // next test's memory baseline. 'watcher' is a subscriber connected before
  // the attack, to show that existing clients keep receiving.
  let srv, watcher, baseline;
  beforeEach(async () => {
    srv = await start();
    watcher = await subscriber(srv.respPort, 'probe');
    await assertServing(srv, { watchers: [watcher], sse: false });
    baseline = rss(srv.pid);
  });
  afterEach(async () => {
    watcher?.close();
    const r = await srv?.stop();
    assert.equal(r?.code, 0, 'server exits 0 on SIGTERM');
  });

  test('bulk length of 2^62 is refused without allocating', T, async () => {
    const c = await RawClient.connect(srv.respPort);
    await c.send('*2\r\n$4611686018427387904\r\n');
    assert.equal((await readToClose(c)).toString(), '-ERR Protocol error: invalid bulk length\r\n');
    const m = await RawClient.connect(srv.respPort);
    await m.send('*4611686018427387904\r\n');
    assert.equal((await readToClose(m)).toString(), '-ERR Protocol error: invalid multibulk length\r\n');
    // The largest bulk the limits allow, announced but never sent: no
    // preallocation, so memory does not move.
    const big = await RawClient.connect(srv.respPort);
    await big.send('*3\r\n$7\r\nPUBLISH\r\n$1\r\nx\r\n$536870912\r\nabc');
    await sleep(200);
    await assertServing(srv, { watchers: [watcher], sse: false });
    assert.ok(rss(srv.pid) < baseline + RSS_SLACK, `RSS ${fmtMiB(rss(srv.pid))} vs baseline ${fmtMiB(baseline)}`);
    big.close();
    // One byte over --max-bulk (the protocol limit) is refused like 2^62.
    const over = await RawClient.connect(srv.respPort);
    await over.send('*2\r\n$4\r\nECHO\r\n$536870913\r\n');
    assert.equal((await readToClose(over)).toString(), '-ERR Protocol error: invalid bulk length\r\n');
    await assertServing(srv, { watchers: [watcher], sse: false });
  });

  test('a multibulk of a million empty arguments', T, async () => {
    const n = 1000000;
    const c = await RawClient.connect(srv.respPort);
    const body = Buffer.alloc(6 * n, '$0\r\n\r\n');
    const { peak } = await withPeakRss(srv.pid, (async () => {
      await c.send(Buffer.concat([Buffer.from(`*${n}\r\n`), body]));
      const { raw } = await c.readFrame(60000);
      assert.match(raw.toString('latin1'), /^-ERR unknown command '', with args beginning with: ('' )+\r\n$/);
      // Still a working connection afterwards.
      assert.equal((await c.call(['PING'])).toString(), '+PONG\r\n');
    })());
    // A million-argument SUBSCRIBE: a million confirmations (29 MB) for the
    // one channel "" -- under the 32 MB output limit, so it is served.
    const s = await RawClient.connect(srv.respPort);
    const conf = '*3\r\n$9\r\nsubscribe\r\n$0\r\n\r\n:1\r\n';
    const got = await countBytes(s, conf.length * n,
      () => s.send(Buffer.concat([Buffer.from(`*${n + 1}\r\n$9\r\nSUBSCRIBE\r\n`), body])));
    assert.equal(got.first.subarray(0, conf.length).toString(), conf);
    assert.equal(got.last.subarray(got.last.length - conf.length).toString(), conf);
    s.close();
    // Over --max-args (default 1048576) is a protocol error, as in Redis.
    const o = await RawClient.connect(srv.respPort);
    await o.send('*1048577\r\n');
    assert.equal((await readToClose(o)).toString(), '-ERR Protocol error: invalid multibulk length\r\n');
    c.close();
    await assertServing(srv, { watchers: [watcher], sse: false });
    // The 29 MB of confirmations went through a reply scratch buffer: it must
    // not stay that size once the reply is queued (client.c).
    const after = await rssSettles(srv.pid, baseline + RSS_SLACK);
    process.stderr.write(`# million-args: RSS baseline ${fmtMiB(baseline)} peak ${fmtMiB(peak)} after ${fmtMiB(after)}\n`);
    assert.ok(after <= baseline + RSS_SLACK, `RSS after ${fmtMiB(after)} > baseline ${fmtMiB(baseline)} + ${fmtMiB(RSS_SLACK)}`);
  });

  test('idle clients that sent a million-argument command do not pin memory', T, async () => {
    // 6 MB sent makes 24 MB of argument arrays; they must not stay allocated
    // while the client sits idle (resp_parser.c frees them only when the
    // next request starts).
    const n = 1000000;
    const k = 4;
    const body = Buffer.concat([Buffer.from(`*${n}\r\n`), Buffer.alloc(6 * n, '$0\r\n\r\n')]);
    const clients = [];
    for (let i = 0; i < k; i++) {
      const c = await RawClient.connect(srv.respPort);
      await c.send(body);
      await c.readFrame(60000);
      clients.push(c);
    }
    const held = await rssSettles(srv.pid, baseline + RSS_SLACK);
    for (const c of clients) c.close();
    process.stderr.write(`# million-args idle: ${k} idle clients hold RSS ${fmtMiB(held)} (baseline ${fmtMiB(baseline)})\n`);
    assert.ok(held <= baseline + RSS_SLACK, `${k} idle clients pin ${fmtMiB(held - baseline)}`);
    await assertServing(srv, { watchers: [watcher], sse: false });
  });

  test('slowloris: an inline request trickled byte by byte hits --max-inline', T, async () => {
    const s2 = await start(['--max-inline', '64']);
    try {
      const sock = tracked(await rawConnect(s2.respPort));
      const got = [];
      sock.on('data', (d) => got.push(d));
      const t = trickle(sock, 'PINGPINGPING', 5);
      await socketClosed(sock, 30000);
      await t.stop();
      assert.equal(Buffer.concat(got).toString(), '-ERR Protocol error: too big inline request\r\n');
      assert.ok(t.sent() > 64, `closed after only ${t.sent()} bytes`);
      await assertServing(s2, { sse: false });
    } finally {
      await s2.stop();
    }
  });

  test('slowloris: many connections trickling multibulk payloads forever', T, async () => {
    // RESP has no request timeout (nor has Redis): a trickler holds one
    // connection and the bytes it sent, nothing more. Others are unaffected
    // and the server sleeps between bytes.
    const n = scaled(200, 100, 30);
    const before0 = await info(srv.respPort);
    const socks = [];
    const tricklers = [];
    for (let i = 0; i < n; i++) {
      const sock = tracked(await rawConnect(srv.respPort));
      sock.write('*3\r\n$7\r\nPUBLISH\r\n$5\r\nprobe\r\n$1000000\r\n');
      socks.push(sock);
      tricklers.push(trickle(sock, 'x', 20));
    }
    const cpu0 = cpuSeconds(srv.pid);
    await sleep(2000);
    const cpu = cpuSeconds(srv.pid) - cpu0;
    await assertServing(srv, { watchers: [watcher], sse: false });
    const mid = await info(srv.respPort);
    assert.equal(Number(mid.connected_clients), Number(before0.connected_clients) + n,
      'every trickler is still connected');
    for (const t of tricklers) await t.stop();
    for (const s of socks) s.destroy();
    process.stderr.write(`# resp-slowloris: ${n} tricklers, server CPU ${cpu.toFixed(2)} s over 2 s\n`);
    // Spin detector, not a speed test: ${n} tricklers x 50 bytes/s is ~10^4
    // small reads in 2 s; a busy loop would burn the whole 2 s.
    assert.ok(cpu < 1.5, `server used ${cpu} s of CPU in 2 s`);
    await assertServing(srv, { watchers: [watcher], sse: false });
    assert.ok(await rssSettles(srv.pid, baseline + RSS_SLACK) <= baseline + RSS_SLACK);
  });

  test('a subscriber that never reads while 1 GiB is published', T, async () => {
    const total = scaled(1024, 256, 64) * MiB;
    const size = 1 * MiB;
    const count = total / size;
    const window = 8; // messages in flight: paced by the reading subscriber
    const before0 = await info(srv.respPort);

    const slow = await subscriber(srv.respPort, 'big');
    slow.sock.pause(); // never reads again
    const fast = await subscriber(srv.respPort, 'big');
    const pub = await RawClient.connect(srv.respPort);

    const payload = Buffer.alloc(size, 'p');
    const frameLen = messageFrame('big', payload).length;
    let received = 0;
    // Count the fast subscriber's bytes without buffering a gigabyte.
    fast.sock.removeAllListeners('data');
    let wake = null;
    fast.sock.on('data', (d) => { received += d.length; wake?.(); });
    const receivedMsgs = () => Math.floor(received / frameLen);

    const run = (async () => {
      let replies = 0;
      pub.sock.removeAllListeners('data');
      let pubBuf = '';
      pub.sock.on('data', (d) => { pubBuf += d.toString('latin1'); replies = (pubBuf.match(/\r\n/g) || []).length; });
      for (let i = 0; i < count; i++) {
        while (i - receivedMsgs() >= window) await new Promise((r) => { wake = r; setTimeout(r, 50); });
        pub.sock.write(encode('PUBLISH', 'big', payload));
      }
      while (receivedMsgs() < count) await new Promise((r) => { wake = r; setTimeout(r, 50); });
      while (replies < count) await sleep(10);
      return pubBuf;
    })();
    const { value: replies, peak } = await withPeakRss(srv.pid, run);
    // The first replies may count the slow subscriber (2), then 1 once it is cut off.
    const counts = replies.split('\r\n').filter(Boolean).map((l) => Number(l.slice(1)));
    assert.equal(counts.length, count);
    assert.equal(counts[counts.length - 1], 1, 'the slow subscriber was disconnected');
    assert.equal(received, count * frameLen, 'the reading subscriber got every byte');

    const mid = await info(srv.respPort);
    assert.equal(Number(mid.client_output_buffer_limit_disconnections),
      Number(before0.client_output_buffer_limit_disconnections) + 1);
    assert.match(srv.output(), /output buffer of \d+ bytes over the hard limit/);
    // The slow client, when it finally reads, gets a prefix and then EOF.
    slow.sock.resume();
    await slow.waitClose(20000);
    assert.ok(slow.buf.length < 64 * MiB, `slow subscriber got ${fmtMiB(slow.buf.length)}`);
    pub.close();
    fast.close();
    slow.close();

    await assertServing(srv, { watchers: [watcher], sse: false });
    const after = await rssSettles(srv.pid, baseline + RSS_SLACK);
    process.stderr.write(`# gigabyte: published ${fmtMiB(total)}; RSS baseline ${fmtMiB(baseline)} peak ${fmtMiB(peak)} after ${fmtMiB(after)}\n`);
    // Bounded: the 32 MB hard limit, the messages in flight, buffers.
    assert.ok(peak < baseline + 32 * MiB + RSS_SLACK + window * size * 2, `peak RSS ${fmtMiB(peak)}`);
    assert.ok(after <= baseline + RSS_SLACK, `RSS after ${fmtMiB(after)}`);
  });

  test('a client that pipelines commands and never reads the replies', T, async () => {
    // Replies count against the same output limit as messages.
    const before0 = await info(srv.respPort);
    const sock = tracked(await rawConnect(srv.respPort));
    sock.pause();
    const ping = encode('ECHO', Buffer.alloc(64 * 1024, 'e'));
    const batch = Buffer.concat(Array(64).fill(ping)); // 4 MiB of requests per write
    let closed = false;
    sock.on('close', () => { closed = true; });
    for (let i = 0; i < scaled(64, 32, 16) && !closed; i++) {
      await new Promise((r) => sock.write(batch, () => r()));
    }
    // Each 64 KiB request makes a 64 KiB reply: 32 MB of replies is hit
    // after ~512 requests; the connection is then closed.
    await socketClosed(sock, 30000).catch(() => {});
    const mid = await info(srv.respPort);
    assert.equal(Number(mid.client_output_buffer_limit_disconnections),
      Number(before0.client_output_buffer_limit_disconnections) + 1);
    sock.destroy();
    await assertServing(srv, { watchers: [watcher], sse: false });
    assert.ok(await rssSettles(srv.pid, baseline + RSS_SLACK) <= baseline + RSS_SLACK);
  });

  test('MULTI cannot queue unbounded memory', T, async () => {
    // Redis counts queued MULTI arguments against client-query-buffer-limit
    // (networking.c: c->mstate.argv_len_sums + sdslen(c->querybuf)); with
    // --query-buffer-limit 4mb, queueing 64 x 1 MiB must close the client.
    const s2 = await start(['--query-buffer-limit', '4mb']);
    try {
      const base2 = rss(s2.pid);
      const c = await RawClient.connect(s2.respPort);
      await c.call(['MULTI']);
      const cmd = encode('PUBLISH', 'x', Buffer.alloc(MiB, 'm'));
      let closed = false;
      c.sock.on('close', () => { closed = true; });
      for (let i = 0; i < 64 && !closed; i++) await c.send(cmd).catch(() => { closed = true; });
      await c.waitClose(10000);
      await assertServing(s2, { sse: false });
      assert.ok(rss(s2.pid) < base2 + 32 * MiB, `RSS grew by ${fmtMiB(rss(s2.pid) - base2)}`);
    } finally {
      await s2.stop();
    }
  });
});
