// Bounded flush slices (issue 11). A loop pass writes at most --flush-slice
// fan-out connections, then reads input again, so a fan-out to thousands of
// subscribers is written over many loop passes while publishers, new
// subscribers and signals are handled in between. These tests start the
// server with a tiny slice so that every fan-out here spans hundreds of
// passes, then check that nothing the slices interleave with breaks a
// guarantee: per-subscriber order, exactly once, the PUBLISH reply count,
// the output limit, and the clean shutdown. Nothing here is timed; how far
// a fan-out had got when something happened is printed as a diagnostic.

import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { startJugglite, RawClient, encode, sleep, withTimeout, trackSocket, untrackSocket } from './lib/harness.mjs';
import { serverEnv, scaled, subscriber, messageFrame, WRAPPED, info } from './lib/hostile.mjs';

const T = { timeout: 120000 };
const SLACK_MS = WRAPPED ? 60000 : 20000;
const SUBS = scaled(2000, 1000, 150);

async function start(args = []) {
  const srv = await startJugglite({ args: ['--max-conns', String(SUBS + 200), ...args], env: serverEnv() });
  srv.pid = srv.proc.pid;
  return srv;
}

/** One SSE stream that keeps only its event payloads (data: lines). */
class Stream {
  constructor(sock) {
    this.sock = sock;
    this.text = '';
    this.data = [];
    this.registered = false;
    this.closed = false;
    this.waiters = new Set();
    sock.setEncoding('latin1');
    sock.on('data', (d) => this.feed(d));
    sock.on('error', () => {});
    sock.on('close', () => { this.closed = true; untrackSocket(this); this.wake(); });
    trackSocket(this);
  }

  feed(d) {
    this.text += d;
    if (!this.registered) {
      const i = this.text.indexOf(': registered to channels:');
      const end = i < 0 ? -1 : this.text.indexOf('\n', i);
      if (end < 0) return;
      this.registered = true;
      this.text = this.text.slice(end + 1);
    }
    let cut;
    while ((cut = this.text.indexOf('\n\n')) >= 0) {
      const block = this.text.slice(0, cut);
      this.text = this.text.slice(cut + 2);
      for (const line of block.split('\n')) {
        if (line.startsWith('data: ')) this.data.push(line.slice(6));
        else if (line.startsWith('retry: ')) this.retry = Number(line.slice(7));
      }
    }
    this.wake();
  }

  wake() { for (const w of [...this.waiters]) w(); }

  /** Resolves once pred() holds (checked on every input and on close). */
  until(pred, ms, what) {
    if (pred()) return Promise.resolve();
    let w;
    return withTimeout(new Promise((resolve) => {
      w = () => { if (pred()) { this.waiters.delete(w); resolve(); } };
      this.waiters.add(w);
    }), ms, what).finally(() => this.waiters.delete(w));
  }

  destroy() { this.sock.destroy(); }
}

function openStream(port, channel) {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ port, host: '127.0.0.1' });
    sock.once('error', reject);
    sock.once('connect', () => {
      sock.off('error', reject);
      const s = new Stream(sock);
      sock.write(`GET /stream?channel=${channel} HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n`);
      s.until(() => s.registered || s.closed, 20000, 'SSE registration')
        .then(() => (s.registered ? resolve(s) : reject(new Error('stream closed before registering'))), reject);
    });
  });
}

/** n registered streams on channel, opened 100 at a time. */
async function openStreams(port, channel, n) {
  const out = [];
  while (out.length < n) {
    const k = Math.min(100, n - out.length);
    out.push(...await Promise.all(Array.from({ length: k }, () => openStream(port, channel))));
  }
  return out;
}

/** A publisher that pipelines: send() many PUBLISHes in one write, replies() the counts. */
class Publisher {
  static async connect(port) {
    const p = new Publisher();
    p.c = await RawClient.connect(port);
    p.c.sock.removeAllListeners('data');
    p.buf = '';
    p.counts = [];
    p.waiters = new Set();
    p.c.sock.on('data', (d) => {
      p.buf += d.toString('latin1');
      let m;
      while ((m = p.buf.match(/^:(\d+)\r\n/))) {
        p.counts.push(Number(m[1]));
        p.buf = p.buf.slice(m[0].length);
      }
      assert.equal(p.buf.startsWith('-'), false, `publisher got an error: ${p.buf}`);
      for (const w of [...p.waiters]) w();
    });
    return p;
  }

  send(channel, payloads) {
    this.c.sock.write(Buffer.concat(payloads.map((x) => encode('PUBLISH', channel, x))));
  }

  /** Waits until n replies in all have arrived; returns them all. */
  replies(n, ms = SLACK_MS) {
    if (this.counts.length >= n) return Promise.resolve(this.counts);
    let w;
    return withTimeout(new Promise((resolve) => {
      w = () => { if (this.counts.length >= n) resolve(this.counts); };
      this.waiters.add(w);
    }), ms, `${n} PUBLISH replies`).finally(() => this.waiters.delete(w));
  }

  close() { this.c.close(); }
}

const seq = (from, to) => Array.from({ length: to - from + 1 }, (_, i) => `m${from + i}`);
const countHaving = (streams, payload) => streams.filter((s) => s.data.includes(payload)).length;

/** Every stream got exactly `want` (in order, once each). */
async function allGot(streams, want, what) {
  const last = want[want.length - 1];
  await Promise.all(streams.map((s) => s.until(() => s.data.length >= want.length || s.closed, SLACK_MS, `${what}: ${last}`)
    .catch(() => {})));
  const bad = streams.filter((s) => s.data.length !== want.length || s.data.some((x, i) => x !== want[i]));
  assert.equal(bad.length, 0, `${bad.length} of ${streams.length} ${what} got something else, e.g. ` +
    `${JSON.stringify(bad[0]?.data.slice(0, 50))} (want ${want.length} messages ${want[0]}..${last})`);
}

describe('bounded flush slices', () => {
  test('a subscriber that joins during a long fan-out gets every later message, in order, once', T, async () => {
    const srv = await start(['--flush-slice', '4']);
    const streams = [];
    try {
      streams.push(...await openStreams(srv.ssePort, 'fan', SUBS));
      const pub = await Publisher.connect(srv.respPort);
      // Batches of 10 in one write each, the next as soon as the last one's
      // replies are in: replies go before the fan-out, so each batch joins
      // queues the previous fan-outs still fill, and the fan-out never ends
      // while this runs.
      const total = 300;
      const publishing = (async () => {
        for (let i = 1; i <= total; i += 10) {
          pub.send('fan', seq(i, i + 9));
          await pub.replies(i + 9);
        }
      })();
      await pub.replies(30);
      const lateResp = await subscriber(srv.respPort, 'fan');
      const hadResp = countHaving(streams, `m${pub.counts.length}`);
      const lateSse = await openStream(srv.ssePort, 'fan');
      await publishing;
      const counts = await pub.replies(total);
      // The counts say from which publish on each late subscriber was there.
      const fromResp = counts.findIndex((k) => k >= SUBS + 1) + 1;
      const fromSse = counts.findIndex((k) => k === SUBS + 2) + 1;
      assert.ok(fromResp > 30 && fromResp < total, `late RESP subscriber counted from m${fromResp}`);
      assert.ok(fromSse >= fromResp && fromSse < total, `late SSE subscriber counted from m${fromSse}`);
      assert.ok(counts.every((k, i) => k === SUBS + (i + 1 >= fromResp) + (i + 1 >= fromSse)), 'counts only grow, by one per joiner');
      await allGot(streams, seq(1, total), 'early streams');
      await allGot([lateSse], seq(fromSse, total), 'the late stream');
      const want = Buffer.concat(seq(fromResp, total).map((m) => messageFrame('fan', m)));
      const got = await lateResp.readExactly(want.length, SLACK_MS);
      assert.ok(got.equals(want), `late RESP subscriber got ${JSON.stringify(got.toString('latin1').slice(0, 200))}`);
      await sleep(200);
      assert.equal(lateResp.buf.length, 0, 'nothing more, nothing twice');
      process.stderr.write(`# RESP subscriber joined at m${fromResp} (when ${hadResp} of ${SUBS} streams had the ` +
        `last acknowledged message), SSE at m${fromSse}\n`);
      lateResp.close();
      pub.close();
    } finally {
      for (const s of streams) s.destroy();
      const r = await srv.stop();
      assert.equal(r.code, 0);
    }
  });

  test('a PUBLISH is answered while its fan-out is still being written: right count, each subscriber once', T, async () => {
    const srv = await start(['--flush-slice', '2']);
    const streams = [];
    try {
      streams.push(...await openStreams(srv.ssePort, 'ack', SUBS));
      const resp = await Promise.all(Array.from({ length: 10 }, () => subscriber(srv.respPort, 'ack')));
      const pub = await Publisher.connect(srv.respPort);
      let had = -1;
      for (let i = 1; i <= 5; i++) {
        pub.send('ack', [`m${i}`]);
        const counts = await pub.replies(i);
        assert.equal(counts[i - 1], SUBS + 10, `PUBLISH m${i} counted every subscriber`);
        if (i === 1) had = countHaving(streams, 'm1');
      }
      await allGot(streams, seq(1, 5), 'streams');
      const want = Buffer.concat(seq(1, 5).map((m) => messageFrame('ack', m)));
      for (const r of resp) {
        assert.ok((await r.readExactly(want.length, SLACK_MS)).equals(want));
        await sleep(20);
        assert.equal(r.buf.length, 0, 'no duplicate');
      }
      process.stderr.write(`# the first reply arrived when ${had} of ${SUBS} streams had the message\n`);
      const i = await info(srv.respPort);
      assert.equal(Number(i.client_output_buffer_limit_disconnections ?? 0), 0);
      for (const r of resp) r.close();
      pub.close();
    } finally {
      for (const s of streams) s.destroy();
      await srv.stop();
    }
  });

  test('a subscriber that stops reading is cut at its output limit mid-fan-out; the others get everything', T, async () => {
    // 16 KiB messages; the slow one would be owed 8 MiB, far past the 512 KiB
    // limit plus whatever the kernel's socket buffers absorb. The publisher
    // keeps at most 8 messages (128 KiB) ahead of the slowest reading stream,
    // so only the one that stopped reading can reach the limit.
    const n = scaled(50, 30, 10);
    const count = 512;
    const window = 8;
    const srv = await start(['--flush-slice', '2', '--obuf-hard', '512kb', '--obuf-soft', '0']);
    const streams = [];
    try {
      streams.push(...await openStreams(srv.ssePort, 'big', n));
      const slow = await openStream(srv.ssePort, 'big');
      slow.sock.pause();
      const pad = 'x'.repeat(16 * 1024);
      const payload = (i) => `m${i} ${pad}`;
      const pub = await Publisher.connect(srv.respPort);
      const slowest = () => Math.min(...streams.map((s) => s.data.length));
      for (let i = 1; i <= count; i++) {
        while (i - slowest() > window) await Promise.race(streams.map((s) => s.until(() => i - slowest() <= window, SLACK_MS, 'readers')));
        pub.send('big', [payload(i)]);
      }
      const counts = await pub.replies(count);
      const cutAt = counts.findIndex((k) => k === n);
      assert.ok(cutAt > 0, `the slow stream was cut (counts ${counts.slice(0, 5)} … ${counts.slice(-5)})`);
      assert.ok(counts.slice(0, cutAt).every((k) => k === n + 1) && counts.slice(cutAt).every((k) => k === n),
        'counted until cut, never after');
      await allGot(streams, Array.from({ length: count }, (_, j) => payload(j + 1)), 'reading streams');
      const i = await info(srv.respPort);
      assert.equal(Number(i.client_output_buffer_limit_disconnections), 1);
      assert.match(srv.output(), /output buffer of \d+ bytes over the hard limit/);
      // What the slow one did get is a prefix of the sequence.
      slow.sock.resume();
      await slow.until(() => slow.closed, SLACK_MS, 'slow stream closed');
      assert.ok(slow.data.every((x, j) => x === payload(j + 1)), 'the slow stream got an in-order prefix');
      process.stderr.write(`# slow stream cut after publish ${cutAt} of ${count}; it had read ${slow.data.length}\n`);
      pub.close();
    } finally {
      for (const s of streams) s.destroy();
      await srv.stop();
    }
  });

  test('SIGTERM mid-slice: everything accepted is flushed, then a clean exit 0', T, async () => {
    const srv = await start(['--flush-slice', '2', '--shutdown-timeout', '20', '--retry', '2500']);
    const streams = [];
    try {
      streams.push(...await openStreams(srv.ssePort, 'bye', SUBS));
      const resp = await Promise.all(Array.from({ length: 10 }, () => subscriber(srv.respPort, 'bye')));
      const pub = await Publisher.connect(srv.respPort);
      pub.send('bye', seq(1, 20));
      await pub.replies(20);
      const had = countHaving(streams, 'm20');
      const exited = srv.stop({ graceMs: 20000 + SLACK_MS });
      await allGot(streams, seq(1, 20), 'streams');
      for (const s of streams) await s.until(() => s.closed, SLACK_MS, 'stream closed');
      const tails = streams.filter((s) => !(s.retry > 0) || s.text !== '');
      assert.equal(tails.length, 0, `streams ended without retry:, e.g. ${JSON.stringify(tails[0]?.text)}`);
      const want = Buffer.concat(seq(1, 20).map((m) => messageFrame('bye', m)));
      for (const r of resp) {
        await r.waitClose(SLACK_MS);
        assert.ok(r.buf.equals(want), `RESP subscriber got ${r.buf.length} of ${want.length} bytes`);
      }
      const r = await exited;
      assert.ok(!r.killed, `no exit after SIGTERM\n${srv.logTail()}`);
      assert.deepEqual({ code: r.code, signal: r.signal }, { code: 0, signal: null });
      assert.doesNotMatch(srv.output(), /shutdown timeout/);
      process.stderr.write(`# SIGTERM when ${had} of ${SUBS} streams had the last message\n`);
    } finally {
      for (const s of streams) s.destroy();
      await srv.stop();
    }
  });
});
