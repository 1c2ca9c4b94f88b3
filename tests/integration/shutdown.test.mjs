// Clean shutdown. On SIGTERM or SIGINT jugglite stops accepting, sends every
// SSE stream a final "retry:" (so browsers reconnect promptly, elsewhere),
// flushes what RESP clients are owed, closes, and exits 0 -- within
// --shutdown-timeout even when a client never reads. SIGPIPE is ignored.
// Bounds here are "exits at all, well within a generous limit", never a
// speed measurement.

import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { startJugglite, RawClient, waitExit, sleep, spawnTracked, jugglitePath } from './lib/harness.mjs';
import { serverEnv, sseOpen, subscriber, publish, messageFrame, MiB, WRAPPED, rawConnect } from './lib/hostile.mjs';

const T = { timeout: 60000 };
const SLACK_MS = WRAPPED ? 30000 : 15000;

async function start(args = []) {
  const srv = await startJugglite({ args, env: serverEnv() });
  srv.pid = srv.proc.pid;
  return srv;
}

/** Sends sig and waits for the exit; returns {code, signal}. SIGTERM goes
 *  through the harness's stop() (which then knows the exit is expected);
 *  SIGINT directly (the harness logs that exit as unexpected: harmless). */
async function signalAndWait(srv, sig, ms) {
  if (sig === 'SIGTERM') {
    const r = await srv.stop({ graceMs: ms });
    assert.ok(!r.killed, `no exit within ${ms} ms of SIGTERM\n${srv.logTail()}`);
    return { code: r.code, signal: r.signal };
  }
  srv.proc.kill(sig);
  const ok = await waitExit(srv.proc, ms);
  assert.ok(ok, `no exit within ${ms} ms of ${sig}\n${srv.logTail()}`);
  return { code: srv.proc.exitCode, signal: srv.proc.signalCode };
}

describe('clean shutdown', () => {
  for (const sig of ['SIGTERM', 'SIGINT']) {
    test(`${sig}: SSE streams get retry:, RESP clients their pending output, exit 0`, T, async () => {
      const srv = await start(['--retry', '2500', '--shutdown-timeout', '10']);
      try {
        const streams = [await sseOpen(srv.ssePort, 'a'), await sseOpen(srv.ssePort, 'b')];
        const idle = await RawClient.connect(srv.respPort);
        assert.equal((await idle.call(['PING'])).toString(), '+PONG\r\n');
        // A subscriber owed 8 MiB it has not read yet (below every output
        // limit): all of it must arrive before the close.
        const sub = await subscriber(srv.respPort, 'a');
        sub.sock.pause();
        const payloads = Array.from({ length: 8 }, (_, i) => Buffer.alloc(MiB, String.fromCharCode(97 + i)));
        for (const p of payloads) assert.equal(await publish(srv.respPort, 'a', p), 2);
        const exited = signalAndWait(srv, sig, 10000 + SLACK_MS);
        // Not accepting any more: a connection made now is never served.
        await sleep(200);
        const late = await rawConnect(srv.respPort).catch(() => null);
        let lateGot = '';
        late?.on('data', (d) => { lateGot += d; });
        late?.on('error', () => {});
        late?.write('PING\r\n');
        // The slow subscriber now reads everything, then sees EOF.
        sub.sock.resume();
        await sub.waitClose(10000 + SLACK_MS);
        const want = Buffer.concat(payloads.map((p) => messageFrame('a', p)));
        assert.equal(sub.buf.length, want.length, 'every pending byte was flushed');
        assert.ok(sub.buf.equals(want));
        // Each stream ends with a retry: field (jittered around --retry), then EOF.
        for (const s of streams) {
          await s.waitClose(SLACK_MS);
          const text = s.buf.toString('latin1');
          const m = text.match(/retry: (\d+)\n\n?$/);
          assert.ok(m, `stream ended with ${JSON.stringify(text.slice(-80))}`);
          assert.ok(Number(m[1]) >= 1000 && Number(m[1]) <= 10000, `retry: ${m[1]}`);
        }
        await idle.waitClose(SLACK_MS);
        assert.deepEqual(await exited, { code: 0, signal: null });
        assert.equal(lateGot, '', 'a connection made during shutdown was served');
        assert.match(srv.output(), new RegExp(`received ${sig}`));
      } finally {
        await srv.stop();
      }
    });
  }

  test('a client that never reads cannot hold the shutdown past --shutdown-timeout', T, async () => {
    const srv = await start(['--shutdown-timeout', '1']);
    try {
      const sub = await subscriber(srv.respPort, 'a');
      sub.sock.pause();
      // 16 MiB queued: under the 32 MB hard limit, so it stays connected.
      for (let i = 0; i < 16; i++) await publish(srv.respPort, 'a', Buffer.alloc(MiB, 'x'));
      const sse = await sseOpen(srv.ssePort, 'a');
      sse.sock.pause();
      const t0 = Date.now();
      const r = await signalAndWait(srv, 'SIGTERM', 1000 + SLACK_MS);
      assert.deepEqual(r, { code: 0, signal: null });
      assert.match(srv.output(), /shutdown timeout/);
      process.stderr.write(`# shutdown with a non-reading client: exit 0 after ${Date.now() - t0} ms (--shutdown-timeout 1)\n`);
      sub.close();
      sse.close();
    } finally {
      await srv.stop();
    }
  });

  test('SIGTERM as soon as the first listener is announced still exits 0', T, async () => {
    // A supervisor may signal the moment it sees "listening": the handlers
    // must be in place before any listener is (server.c, jl_server_new).
    // The signal is sent from the very callback that sees the first line.
    const tries = WRAPPED ? 5 : 20;
    const bad = [];
    for (let i = 0; i < tries; i++) {
      const proc = spawnTracked(jugglitePath(), ['--resp-address', '127.0.0.1', '--resp-port', '0',
        '--address', '127.0.0.1', '--port', '0'], { env: { ...process.env, ...serverEnv() } });
      const onData = (d) => {
        if (/listening on/.test(d.toString())) {
          proc.stderr.off('data', onData);
          proc.kill('SIGTERM');
        }
      };
      proc.stderr.on('data', onData);
      const r = await proc.waitExit(SLACK_MS + 10000);
      if (r.code !== 0) bad.push({ code: r.code, signal: r.signal });
    }
    assert.deepEqual(bad, [], `${bad.length} of ${tries} early SIGTERMs killed the process`);
  });

  test('an idle server exits 0 promptly; SIGPIPE is ignored', T, async () => {
    const srv = await start();
    try {
      const status = readFileSync(`/proc/${srv.pid}/status`, 'latin1');
      const ign = BigInt('0x' + status.match(/^SigIgn:\s+([0-9a-f]+)/m)[1]);
      assert.equal((ign >> 12n) & 1n, 1n, 'SIGPIPE (13) is ignored');
      const r = await signalAndWait(srv, 'SIGTERM', SLACK_MS);
      assert.deepEqual(r, { code: 0, signal: null });
    } finally {
      await srv.stop();
    }
  });
});
