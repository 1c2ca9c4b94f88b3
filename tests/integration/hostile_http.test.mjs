// Hostile clients on the HTTP/SSE listener: slowloris (heads and bodies
// trickled forever), request heads of megabytes, a stream that keeps
// talking, and an SSE subscriber that never reads. After each attack the
// server must still serve a fresh SSE stream, a fresh RESP subscriber and
// the streams connected before the attack, with memory back near its
// baseline. No assertion depends on speed.

import { test, describe, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { startJugglite, RawClient, sleep } from './lib/harness.mjs';
import {
  rss, rssSettles, withPeakRss, fmtMiB, MiB, RSS_SLACK, scaled, serverEnv, info, assertServing,
  sseOpen, trickle, rawConnect, tracked, socketClosed, cpuSeconds, publish,
  expectSseEvent,
} from './lib/hostile.mjs';

const T = { timeout: 120000 };

describe('hostile HTTP clients', () => {
  let srv, stream, baseline;
  beforeEach(async () => {
    srv = await startJugglite({
      args: ['--head-timeout', '1', '--max-header-size', '16kb', '--publish-token', 'secret'],
      env: serverEnv(),
    });
    srv.pid = srv.proc.pid;
    stream = await sseOpen(srv.ssePort, 'probe'); // connected before the attack
    await assertServing(srv);
    baseline = rss(srv.pid);
  });
  afterEach(async () => {
    stream?.close();
    const r = await srv?.stop();
    assert.equal(r?.code, 0, 'server exits 0 on SIGTERM');
  });

  /** The pre-attack stream still receives, plus a fresh stream and subscriber. */
  async function othersUnaffected() {
    const payload = `still-${Math.random()}`;
    assert.ok(await publish(srv.respPort, 'probe', payload) >= 1);
    await expectSseEvent(stream, payload);
    await assertServing(srv);
  }

  test('slowloris: request heads trickled forever are cut at --head-timeout', T, async () => {
    const n = scaled(300, 100, 30);
    const socks = [];
    const ts = [];
    for (let i = 0; i < n; i++) {
      const s = tracked(await rawConnect(srv.ssePort));
      s.write('GET /stream?channel=probe HTTP/1.1\r\nHost: x\r\n');
      ts.push(trickle(s, 'X-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n', 50));
      socks.push(s);
    }
    const cpu0 = cpuSeconds(srv.pid);
    await othersUnaffected(); // served while the tricklers are connected
    // Every trickler is closed by the server (head timeout 1 s, checked once a second).
    await Promise.all(socks.map((s) => socketClosed(s, 30000)));
    const cpu = cpuSeconds(srv.pid) - cpu0;
    for (const t of ts) await t.stop();
    process.stderr.write(`# http-slowloris: ${n} tricklers all closed by the server; CPU ${cpu.toFixed(2)} s\n`);
    await othersUnaffected();
    assert.ok(await rssSettles(srv.pid, baseline + RSS_SLACK) <= baseline + RSS_SLACK);
  });

  test('slowloris: an unwanted request body trickled forever is cut too', T, async () => {
    // The head arrives at once; the body (which the server drops anyway:
    // the request is refused or the route takes none) trickles a byte at a
    // time. --head-timeout must bound the whole request, or one client
    // holds a connection for ever by sending a byte every second.
    const cases = [
      'POST /publish HTTP/1.1\r\nHost: x\r\nContent-Length: 60000\r\n\r\n',            // 401: no token
      'GET /health HTTP/1.1\r\nHost: x\r\nContent-Length: 60000\r\n\r\n',               // body never wanted
      'GET /stream?channel=probe HTTP/1.1\r\nHost: x\r\nContent-Length: 60000\r\n\r\n', // idem
    ];
    const socks = [];
    for (const head of cases) {
      const s = tracked(await rawConnect(srv.ssePort));
      s.write(head);
      trickle(s, 'b', 200);
      socks.push(s);
    }
    const results = await Promise.allSettled(socks.map((s) => socketClosed(s, 15000)));
    for (const s of socks) s.destroy();
    const open = cases.filter((_, i) => results[i].status !== 'fulfilled');
    assert.deepEqual(open, [], 'connections still open after 15 s');
    await othersUnaffected();
  });

  test('a request head of megabytes is refused at --max-header-size', T, async () => {
    const heads = [
      ['header', Buffer.concat([Buffer.from('GET /stream?channel=a HTTP/1.1\r\nHost: x\r\nX-Big: '), Buffer.alloc(4 * MiB, 'h'), Buffer.from('\r\n\r\n')])],
      ['url', Buffer.concat([Buffer.from('GET /stream?channel='), Buffer.alloc(2 * MiB, 'u'), Buffer.from(' HTTP/1.1\r\nHost: x\r\n\r\n')])],
      ['many headers', Buffer.concat([Buffer.from('GET / HTTP/1.1\r\n'), Buffer.alloc(2 * MiB, 'a:b\r\n'), Buffer.from('\r\n')])],
      ['no line end', Buffer.concat([Buffer.from('GET /'), Buffer.alloc(4 * MiB, 'x')])],
    ];
    for (const [what, bytes] of heads) {
      const s = tracked(await rawConnect(srv.ssePort));
      const got = [];
      s.on('data', (d) => got.push(d));
      const { peak } = await withPeakRss(srv.pid, (async () => {
        s.write(bytes, () => {});
        await socketClosed(s, 20000);
      })());
      const text = Buffer.concat(got).toString('latin1');
      // The response can be lost to an RST (we were still sending when the
      // server closed); if it arrived it must be a 4xx, never a stream.
      if (text) assert.match(text, /^HTTP\/1\.1 (400|414|431) /, `${what}: ${text.slice(0, 200)}`);
      process.stderr.write(`# big-head (${what}, ${fmtMiB(bytes.length)}): ${text.split('\r\n')[0] || '(reset)'}; peak RSS ${fmtMiB(peak)} (baseline ${fmtMiB(baseline)})\n`);
      assert.ok(peak < baseline + RSS_SLACK, `${what}: peak RSS ${fmtMiB(peak)}`);
    }
    await othersUnaffected();
  });

  test('a stream asking for thousands of channels costs bounded memory', T, async () => {
    // A 16 KiB head can name ~4000 distinct channels; subscribing them all
    // costs ~0.5 MiB per stream (34x the request), so 10,000 anonymous
    // connections would cost 5 GiB. The channels a stream may take must be
    // capped (extra ones dropped, as disallowed ones are) so that a stream
    // costs at most a few tens of KiB however it is asked.
    const streams = scaled(200, 100, 20);
    const perStream = scaled(64, 256, 1024) * 1024;
    const open = [];
    let asked = 0;
    for (let k = 0; k < streams; k++) {
      const names = [];
      for (let i = 0, len = 0; len < 15000; i++) {
        const n = (k * 100000 + i).toString(36);
        names.push(n);
        len += n.length + 1;
      }
      asked = names.length;
      const c = await RawClient.connect(srv.ssePort);
      await c.send(`GET /stream?channel=${names.join(',')} HTTP/1.1\r\nHost: x\r\n\r\n`);
      await c.readUntilString(': registered to channels:', 10000);
      await c.readUntilString('\n', 10000);
      open.push(c);
    }
    const grown = rss(srv.pid) - baseline;
    process.stderr.write(`# many-channels: ${streams} streams asking ${asked} channels each: RSS +${fmtMiB(grown)} (${(grown / streams / 1024).toFixed(0)} KiB per stream)\n`);
    await othersUnaffected();
    for (const c of open) c.close();
    assert.ok(grown < streams * perStream + 8 * MiB,
      `${streams} streams cost ${fmtMiB(grown)}: ${(grown / streams / 1024).toFixed(0)} KiB each`);
  });

  test('a stream that keeps sending after its head is dropped', T, async () => {
    const c = await sseOpen(srv.ssePort, 'probe');
    const junk = Buffer.alloc(64 * 1024, 'j');
    for (let i = 0; i < 64 && !c.closed; i++) await c.send(junk).catch(() => {});
    await c.waitClose(10000);
    await othersUnaffected();
    assert.ok(await rssSettles(srv.pid, baseline + RSS_SLACK) <= baseline + RSS_SLACK);
  });

  test('an SSE subscriber that never reads while 1 GiB is published', T, async () => {
    const total = scaled(1024, 256, 64) * MiB;
    const size = MiB;
    const count = total / size;
    const window = 8;
    const before0 = await info(srv.respPort);
    const slow = await sseOpen(srv.ssePort, 'big');
    slow.sock.pause();
    // The reading side: a RESP subscriber paces the publisher.
    const fast = await RawClient.connect(srv.respPort);
    await fast.call(['SUBSCRIBE', 'big']);
    fast.sock.removeAllListeners('data');
    let received = 0;
    fast.sock.on('data', (d) => { received += d.length; });
    const frameLen = `*3\r\n$7\r\nmessage\r\n$3\r\nbig\r\n$${size}\r\n`.length + size + 2;
    const pub = await RawClient.connect(srv.respPort);
    pub.sock.removeAllListeners('data');
    let lines = '';
    pub.sock.on('data', (d) => { lines += d.toString('latin1'); });
    const payload = Buffer.alloc(size, 'p');
    const cmd = Buffer.concat([Buffer.from(`*3\r\n$7\r\nPUBLISH\r\n$3\r\nbig\r\n$${size}\r\n`), payload, Buffer.from('\r\n')]);
    const run = (async () => {
      for (let i = 0; i < count; i++) {
        while (i - Math.floor(received / frameLen) >= window) await sleep(2);
        pub.sock.write(cmd);
      }
      while (received < count * frameLen) await sleep(5);
    })();
    const { peak } = await withPeakRss(srv.pid, run);
    assert.equal(received, count * frameLen, 'the reading subscriber got everything');
    const counts = lines.split('\r\n').filter(Boolean).map((l) => Number(l.slice(1)));
    assert.equal(counts.at(-1), 1, 'the stream was cut off');
    const mid = await info(srv.respPort);
    assert.equal(Number(mid.client_output_buffer_limit_disconnections),
      Number(before0.client_output_buffer_limit_disconnections) + 1);
    slow.sock.resume();
    await slow.waitClose(20000);
    pub.close();
    fast.close();
    await othersUnaffected();
    const after = await rssSettles(srv.pid, baseline + RSS_SLACK);
    process.stderr.write(`# sse-gigabyte: ${fmtMiB(total)} published; RSS baseline ${fmtMiB(baseline)} peak ${fmtMiB(peak)} after ${fmtMiB(after)}\n`);
    assert.ok(peak < baseline + 32 * MiB + RSS_SLACK + 2 * window * size, `peak RSS ${fmtMiB(peak)}`);
    assert.ok(after <= baseline + RSS_SLACK, `RSS after ${fmtMiB(after)}`);
  });
});
