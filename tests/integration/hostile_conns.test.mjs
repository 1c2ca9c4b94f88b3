// Hostile connection patterns on both listeners: ten thousand connections
// dropped mid-request, peers that reset (SO_LINGER 0) while the server is
// writing to them, and more connections than file descriptors (EMFILE).
// Afterwards the server must hold no trace of them (connections, fds,
// memory) and serve everybody else. Nothing measures speed; the EMFILE
// spin check compares the server's CPU *time* against a wide bound.

import { test, describe, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, chmodSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startJugglite, RawClient, encode, sleep, jugglitePath } from './lib/harness.mjs';
import {
  rss, rssSettles, fmtMiB, MiB, RSS_SLACK, scaled, serverEnv, info, assertServing,
  sseOpen, rawConnect, resetSocket, openFds, cpuSeconds, subscriber, publish, loopbackSources,
  WRAPPED, expectMessage,
  expectSseEvent,
} from './lib/hostile.mjs';

const T = { timeout: 180000 };

async function start(args = [], opts = {}) {
  const srv = await startJugglite({ args, env: serverEnv(), ...opts });
  srv.pid = srv.proc.pid;
  return srv;
}

/** Waits until INFO's connected_clients and the SSE stream count are back to
 *  the given values (the server frees closed connections asynchronously). */
async function connectionsBackTo(port, clients, streams, ms = 20000) {
  const deadline = Date.now() + ms;
  let i;
  for (;;) {
    i = await info(port);
    // +1: the INFO connection itself.
    if (Number(i.connected_clients) === clients + 1 && Number(i.sse_connected_streams) === streams) return i;
    if (Date.now() > deadline) {
      throw new Error(`connected_clients=${i.connected_clients} (want ${clients + 1}), sse_connected_streams=${i.sse_connected_streams} (want ${streams})`);
    }
    await sleep(100);
  }
}

describe('hostile connections', () => {
  let srv, watcher, stream, baseline, fds0;
  beforeEach(async () => {
    srv = await start();
    watcher = await subscriber(srv.respPort, 'probe');
    stream = await sseOpen(srv.ssePort, 'probe');
    await assertServing(srv, { watchers: [watcher] });
    baseline = rss(srv.pid);
    fds0 = openFds(srv.pid);
  });
  afterEach(async () => {
    watcher?.close();
    stream?.close();
    const r = await srv?.stop();
    assert.equal(r?.code, 0, 'server exits 0 on SIGTERM');
  });

  async function othersUnaffected() {
    const payload = `still-${Math.random()}`;
    assert.ok(await publish(srv.respPort, 'probe', payload) >= 2);
    await expectSseEvent(stream, payload);
    await expectMessage(watcher, 'probe', payload);
    await assertServing(srv, { watchers: [watcher] });
  }

  test('10,000 connections opened and dropped mid-request', T, async () => {
    const total = scaled(10000, 10000, 2000);
    const batch = 250; // our own fds stay well under the 20,000 limit
    const sources = loopbackSources(4);
    const partial = [
      [srv.respPort, '*3\r\n$7\r\nPUBLISH\r\n$5\r\nprobe\r\n$100\r\nhalf a payl'],
      [srv.respPort, 'SUBSCRIBE pro'],
      [srv.ssePort, 'GET /stream?channel=probe HTTP/1.1\r\nHost: x\r\nAcc'],
      [srv.ssePort, 'POST /publish HTTP/1.1\r\nContent-Length: 100\r\n\r\nhalf'],
    ];
    const before0 = await info(srv.respPort);
    let done = 0;
    let refused = 0;
    while (done < total) {
      const n = Math.min(batch, total - done);
      await Promise.all(Array.from({ length: n }, async (_, j) => {
        const k = done + j;
        const [port, bytes] = partial[k % partial.length];
        let s;
        try {
          s = await rawConnect(port, { localAddress: sources[k % sources.length] });
        } catch {
          refused++;
          return;
        }
        await new Promise((r) => s.write(bytes, r));
        // Half leave with FIN, half with RST.
        if (k % 2) resetSocket(s); else s.destroy();
      }));
      done += n;
    }
    assert.equal(refused, 0, 'no connection was refused');
    const i = await connectionsBackTo(srv.respPort, 1, 1);
    assert.ok(Number(i.total_connections_received) - Number(before0.total_connections_received) >= total);
    await othersUnaffected();
    // No fd and no memory left behind.
    const fds = openFds(srv.pid);
    assert.ok(fds <= fds0 + 2, `open fds ${fds0} -> ${fds}`);
    const after = await rssSettles(srv.pid, baseline + RSS_SLACK);
    process.stderr.write(`# 10k-drop: ${total} connections dropped; fds ${fds0} -> ${fds}; RSS baseline ${fmtMiB(baseline)} after ${fmtMiB(after)}\n`);
    assert.ok(after <= baseline + RSS_SLACK, `RSS after ${fmtMiB(after)}`);
  });

  test('peers that reset the connection while the server writes to them', T, async () => {
    const rounds = scaled(40, 20, 8);
    const payload = Buffer.alloc(256 * 1024, 'r');
    for (let i = 0; i < rounds; i++) {
      // A RESP subscriber and an SSE stream stop reading, so the server has
      // output queued (and a write watcher armed) when they reset.
      const sub = await subscriber(srv.respPort, 'reset');
      const sse = await sseOpen(srv.ssePort, 'reset');
      sub.sock.pause();
      sse.sock.pause();
      for (let j = 0; j < 16; j++) await publish(srv.respPort, 'reset', payload); // 4 MiB queued
      resetSocket(sub.sock);
      resetSocket(sse.sock);
      // And more writes towards the dead peers: EPIPE / ECONNRESET, never SIGPIPE.
      await publish(srv.respPort, 'reset', payload);
      // A RESP client resetting with a pipeline of requests unanswered.
      const p = await rawConnect(srv.respPort);
      p.write(Buffer.concat(Array(64).fill(encode('ECHO', payload))));
      resetSocket(p);
    }
    await connectionsBackTo(srv.respPort, 1, 1);
    await othersUnaffected();
    const fds = openFds(srv.pid);
    assert.ok(fds <= fds0 + 2, `open fds ${fds0} -> ${fds}`);
    const after = await rssSettles(srv.pid, baseline + RSS_SLACK);
    process.stderr.write(`# reset: ${rounds} rounds; RSS baseline ${fmtMiB(baseline)} after ${fmtMiB(after)}\n`);
    assert.ok(after <= baseline + RSS_SLACK, `RSS after ${fmtMiB(after)}`);
  });
});

describe('more connections than file descriptors', () => {
  test('EMFILE: the listener backs off instead of spinning, and recovers', { ...T, skip: WRAPPED && 'fd limits of a process under valgrind are valgrind\'s' }, async () => {
    const srv = await start();
    try {
      const admin = await RawClient.connect(srv.respPort); // made before the squeeze
      const held = [];
      // Lower the open-file limit under the running server: it was sized for
      // --max-conns, so only EMFILE stops it now.
      const fdsNow = openFds(srv.pid);
      const limit = fdsNow + 24;
      execFileSync('prlimit', ['--pid', String(srv.pid), `--nofile=${limit}:${limit}`]);
      // Far more connections than fds, on both listeners; they stay open.
      for (let i = 0; i < 150; i++) {
        const port = i % 2 ? srv.ssePort : srv.respPort;
        const s = await rawConnect(port);
        s.on('error', () => {});
        held.push(s);
      }
      await sleep(500);
      const cpu0 = cpuSeconds(srv.pid);
      const log0 = (srv.output().match(/out of file descriptors/g) || []).length;
      await sleep(2000);
      const cpu = cpuSeconds(srv.pid) - cpu0;
      const logs = (srv.output().match(/out of file descriptors/g) || []).length - log0;
      process.stderr.write(`# emfile: fd limit ${limit}, 150 clients; server CPU ${cpu.toFixed(2)} s over 2 s; ${logs} backoff warnings\n`);
      // A spinning listener burns the whole 2 s; a backing-off one ~nothing.
      assert.ok(cpu < 1.0, `server used ${cpu} s of CPU in 2 s while out of fds`);
      assert.ok(logs >= 1, 'the backoff was logged');
      assert.ok(logs < 40, `${logs} backoff warnings in 2 s`);
      // The connection made before is still served.
      assert.equal((await admin.call(['PING'])).toString(), '+PONG\r\n');
      // Recover: the held clients go away, new ones are served.
      for (const s of held) s.destroy();
      const deadline = Date.now() + 30000;
      for (;;) {
        try {
          await assertServing(srv);
          break;
        } catch (e) {
          if (Date.now() > deadline) throw e;
          await sleep(250);
        }
      }
      assert.equal((await admin.call(['PING'])).toString(), '+PONG\r\n');
      admin.close();
    } finally {
      const r = await srv.stop();
      assert.equal(r.code, 0);
    }
  });

  test('a small RLIMIT_NOFILE caps --max-conns; extra clients are refused, not hung', T, async () => {
    // Started with 96 fds: --max-conns is capped (and says so), and clients
    // over the cap get Redis's error (RESP) or 200 + retry: (SSE).
    const s2 = await startJugglite({ args: [], env: serverEnv(), bin: await prlimitWrapper(96) });
    try {
      assert.match(s2.output(), /--max-conns \d+ capped to (\d+)/);
      const cap = Number(s2.output().match(/capped to (\d+)/)[1]);
      const held = [];
      for (let i = 0; i < cap; i++) held.push(await rawConnect(s2.respPort));
      const extra = await RawClient.connect(s2.respPort);
      await extra.waitClose(10000);
      assert.equal(extra.buf.toString(), '-ERR max number of clients reached\r\n');
      const sse = await RawClient.connect(s2.ssePort);
      await sse.send('GET /stream?channel=a HTTP/1.1\r\nHost: x\r\n\r\n');
      await sse.waitClose(10000);
      assert.match(sse.buf.toString('latin1'), /^HTTP\/1\.1 200 OK\r\n[^]*\r\n\r\n[^]*retry: \d+\n/);
      for (const s of held) s.destroy();
      await sleep(200);
      const again = await RawClient.connect(s2.respPort);
      assert.equal((await again.call(['PING'])).toString(), '+PONG\r\n');
      again.close();
    } finally {
      const r = await s2.stop();
      assert.equal(r.code, 0);
    }
  });
});

/** A script that execs jugglite under `prlimit --nofile=n:n` (same pid). */
async function prlimitWrapper(n) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'jl-prlimit-'));
  const file = path.join(dir, 'jugglite');
  writeFileSync(file, `#!/bin/sh\nexec prlimit --nofile=${n}:${n} ${process.env.JUGGLITE_WRAPPER || ''} '${jugglitePath()}' "$@"\n`);
  chmodSync(file, 0o755);
  return file;
}
