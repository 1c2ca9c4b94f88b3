// The upstream bridge against a scripted fake upstream (a RESP3 server in
// this process), to see the exact commands the bridge sends and to make the
// upstream misbehave on cue:
//
//   - the handshake (HELLO 3 AUTH user pass, percent-decoded), and the
//     resubscribe pipeline sent before the HELLO reply;
//   - "message" reaches exact subscribers only, "pmessage" the one pattern;
//   - a waiting publisher gets a clear error when the connection drops, and
//     the reply FIFO stays aligned when a waiting publisher leaves;
//   - bad data (garbage, a reply of the wrong type, an unexpected push, a
//     reply nobody asked for, HELLO refused): logged, connection reset and
//     re-established, never a crash;
//   - a unix socket upstream, a bad --upstream URL, shutdown while a
//     publisher waits (exit 0, LSan-clean).

import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { mkdtempSync, rmSync } from 'node:fs';
import {
  startJugglite, jugglitePath, RawClient, parseFrame, toJs, decodeAll, sleep, spawnTracked,
  trackSocket, untrackSocket,
} from './lib/harness.mjs';

// The bridge's own subscription to JUGGLITE NUMSUB's channels
// (resp/upstream_count.h), sent on every connection after HELLO.
const countSetup = (c) => c[0] === 'SUBSCRIBE' && c[1] === 'jugglite:numsub' && /^jugglite:numsub:[0-9a-f]{40}$/.test(c[2]);

const T = { timeout: 30000 };

// ---------------------------------------------------------------- fake upstream

const bulk = (s) => `$${Buffer.byteLength(s)}\r\n${s}\r\n`;
const push = (...items) => `>${items.length}\r\n${items.map((x) => (typeof x === 'number' ? `:${x}\r\n` : bulk(x))).join('')}`;
const HELLO_REPLY = `%2\r\n${bulk('server')}${bulk('fake')}${bulk('proto')}:3\r\n`;

/** A RESP3 server that answers like Redis unless a test says otherwise.
 *  Every connection's commands are recorded as arrays of strings. A command
 *  named in `hold` is not answered until the test calls reply(); answers to
 *  later commands wait behind it, as they would on a real server. */
class FakeUpstream {
  constructor() {
    this.conns = [];
    this.hold = new Set();       // command names not answered automatically
    this.helloReply = HELLO_REPLY;
    this._waiters = new Set();
    this.server = net.createServer((s) => this._accept(s));
  }

  listen(where = { port: 0, host: '127.0.0.1' }) {
    return new Promise((resolve) => this.server.listen(where, () => resolve(this.server.address())));
  }

  _accept(sock) {
    const conn = { sock, buf: Buffer.alloc(0), cmds: [], chunks: [], queue: [] };
    trackSocket(sock);
    this.conns.push(conn);
    sock.setNoDelay(true);
    sock.on('error', () => {});
    sock.on('close', () => untrackSocket(sock));
    sock.on('data', (d) => {
      conn.chunks.push(d);
      conn.buf = Buffer.concat([conn.buf, d]);
      for (;;) {
        const r = parseFrame(conn.buf, 0);
        if (!r) break;
        conn.buf = conn.buf.subarray(r.end);
        const argv = toJs(r.node);
        conn.cmds.push(argv);
        this._answer(conn, argv);
      }
      this._wake();
    });
    this._wake();
  }

  _answer(conn, argv) {
    const name = String(argv[0]).toUpperCase();
    if (this.hold.has(name)) { conn.queue.push(null); return; }
    const w = (s) => { conn.queue.push(s); this._flush(conn); };
    switch (name) {
      case 'HELLO': w(this.helloReply); break;
      case 'PING': w('+PONG\r\n'); break;
      case 'PUBLISH': case 'SPUBLISH': w(':0\r\n'); break;
      default:
        if (/^(P|S)?(UN)?SUBSCRIBE$/.test(name)) {
          argv.slice(1).forEach((n, i) => w(push(name.toLowerCase(), n, i + 1)));
        }
    }
  }

  _flush(conn) {
    while (conn.queue.length && conn.queue[0] !== null) {
      const s = conn.queue.shift();
      if (!conn.sock.destroyed) conn.sock.write(s);
    }
  }

  /** Answers the oldest held command of the last connection. */
  reply(bytes) {
    const conn = this.last;
    const i = conn.queue.indexOf(null);
    assert.ok(i >= 0, 'reply() with no held command');
    conn.queue[i] = bytes;
    this._flush(conn);
  }

  get last() { return this.conns[this.conns.length - 1]; }

  _wake() { for (const f of [...this._waiters]) f(); }

  /** Resolves when pred() returns something truthy (checked on every event). */
  waitFor(what, pred, ms = 10000) {
    return new Promise((resolve, reject) => {
      const check = () => {
        const r = pred();
        if (r) { clearTimeout(t); this._waiters.delete(check); resolve(r); }
      };
      const t = setTimeout(() => { this._waiters.delete(check); reject(new Error(`fake upstream: timeout waiting for ${what}; last commands: ${JSON.stringify(this.conns.slice(-3).map((c) => c.cmds)).slice(0, 2000)}`)); }, ms);
      this._waiters.add(check);
      check();
    });
  }

  waitConns(n, ms) { return this.waitFor(`${n} connections`, () => this.conns.length >= n && this.last.cmds.length > 0, ms); }

  waitCommand(name, ms) {
    return this.waitFor(`a ${name} command`, () => this.last?.cmds.find((c) => String(c[0]).toUpperCase() === name), ms);
  }

  close() {
    for (const c of this.conns) c.sock.destroy();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

// The scripted upstream speaks the pub/sub part of RESP3 only, so the nodes
// run without the shared history (--history-size 0: no SCRIPT LOAD, no
// announcements channel); the shared history runs against a real Redis in
// history_bridged.test.mjs.
function node(url, extra = []) {
  return startJugglite({
    args: ['--upstream', url, '--upstream-backoff-min', '0.02', '--upstream-backoff-max', '0.1',
      '--upstream-linger', '0', '--history-size', '0', ...extra],
  });
}

async function command(port, ...args) {
  const c = await RawClient.connect(port);
  try {
    return decodeAll(await c.call(args))[0];
  } finally {
    c.close();
  }
}

async function state(port) {
  const m = String(await command(port, 'INFO', 'upstream')).match(/upstream_state:(\w+)/);
  return m?.[1];
}

async function waitState(port, want, ms = 10000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const s = await state(port);
    if (s === want) return;
    if (Date.now() > deadline) throw new Error(`upstream_state ${s}, wanted ${want}`);
    await sleep(20);
  }
}

const lostError = (port) => `-ERR upstream unavailable: connection to 127.0.0.1:${port} lost before it replied; the message may or may not have been published\r\n`;

// ---------------------------------------------------------------- tests

describe('bridge against a fake upstream', () => {
  let up, port, n;
  before(async () => {
    up = new FakeUpstream();
    ({ port } = await up.listen());
    n = await node(`redis://us%3Aer:p%40ss%3Aword@127.0.0.1:${port}`);
    await waitState(n.respPort, 'up');
  });
  after(async () => {
    const r = n && await n.stop();   // the last test stops it itself
    await up?.close();
    if (r) assert.equal(r.code, 0, 'exits cleanly (LSan-clean)');
  });

  test('handshake: HELLO 3 with the decoded credentials, then subscriptions', T, async () => {
    assert.deepEqual(up.conns[0].cmds[0], ['HELLO', '3', 'AUTH', 'us:er', 'p@ss:word', 'SETNAME', 'jugglite-bridge']);
  });

  test('message goes to exact subscribers only, pmessage to its one pattern only', T, async () => {
    const exact = await RawClient.connect(n.respPort);
    await exact.send(['SUBSCRIBE', 'a']);
    await exact.readFrame();
    const pat = await RawClient.connect(n.respPort);
    await pat.send(['PSUBSCRIBE', '*']);
    await pat.readFrame();
    await up.waitFor('both subscriptions', () => up.last.cmds.some((c) => c[0] === 'PSUBSCRIBE'));
    assert.deepEqual(up.last.cmds.filter((c) => /SUBSCRIBE/.test(c[0]) && !countSetup(c)), [['SUBSCRIBE', 'a'], ['PSUBSCRIBE', '*']]);

    up.last.sock.write(push('message', 'a', 'one'));
    up.last.sock.write(push('pmessage', '*', 'a', 'two'));
    up.last.sock.write(push('pmessage', 'gone*', 'a', 'nobody'));   // no local subscriber: dropped
    assert.deepEqual(decodeAll((await exact.readFrame()).raw)[0], ['message', 'a', 'one']);
    assert.deepEqual(decodeAll((await pat.readFrame()).raw)[0], ['pmessage', '*', 'a', 'two']);
    await sleep(100);
    assert.equal((await exact.readFor(0)).length, 0);
    assert.equal((await pat.readFor(0)).length, 0);
    exact.close(); pat.close();
    // Linger 0: released at the next tick.
    await up.waitFor('PUNSUBSCRIBE *', () => up.last.cmds.some((c) => c[0] === 'PUNSUBSCRIBE' && c[1] === '*'));
    await up.waitFor('UNSUBSCRIBE a', () => up.last.cmds.some((c) => c[0] === 'UNSUBSCRIBE' && c[1] === 'a'));
  });

  test('PUBLISH waits for the upstream reply; the FIFO survives a publisher that left', T, async () => {
    up.hold.add('PUBLISH');
    try {
      const first = await RawClient.connect(n.respPort);
      await first.send(['PUBLISH', 'x', '1']);
      await up.waitFor('PUBLISH 1', () => up.last.cmds.some((c) => c[0] === 'PUBLISH' && c[2] === '1'));
      first.close();                                  // leaves before its reply
      await sleep(50);
      const second = await RawClient.connect(n.respPort);
      await second.send(['PUBLISH', 'x', '2']);
      await second.send(['PING']);                    // queued behind the blocked PUBLISH
      await up.waitFor('PUBLISH 2', () => up.last.cmds.some((c) => c[0] === 'PUBLISH' && c[2] === '2'));
      assert.equal((await second.readFor(100)).length, 0, 'nothing before the upstream answers');
      up.reply(':11\r\n');
      up.reply(':22\r\n');
      assert.equal((await second.readFrames(2)).toString(), ':22\r\n+PONG\r\n');
      second.close();
    } finally {
      up.hold.delete('PUBLISH');
    }
  });

  test('CLIENT REPLY OFF: the publisher still waits for the upstream, and gets no reply', T, async () => {
    const c = await RawClient.connect(n.respPort);
    await c.send('CLIENT REPLY OFF\r\nPUBLISH x quiet\r\nCLIENT REPLY ON\r\nPING\r\n');
    assert.equal((await c.readFrames(2)).toString(), '+OK\r\n+PONG\r\n');
    assert.deepEqual(up.last.cmds.at(-1), ['PUBLISH', 'x', 'quiet']);
    c.close();
  });

  test('a reply nobody asked for: logged, connection reset and re-established', T, async () => {
    const conns = up.conns.length;
    up.last.sock.write('-ERR out of the blue\r\n');
    await up.waitConns(conns + 1);
    await waitState(n.respPort, 'up');
    assert.match(n.output(), /a '-' reply with no command waiting/);
  });

  test('a waiting publisher gets a clear error when the connection drops', T, async () => {
    up.hold.add('PUBLISH');
    try {
      const c = await RawClient.connect(n.respPort);
      await c.send(['PUBLISH', 'x', 'in flight']);
      await up.waitCommand('PUBLISH');
      const conns = up.conns.length;
      up.last.sock.destroy();
      assert.equal((await c.readFrame()).raw.toString(), lostError(port));
      await up.waitConns(conns + 1);
      await waitState(n.respPort, 'up');
      c.close();
    } finally {
      up.hold.delete('PUBLISH');
    }
    assert.equal(await command(n.respPort, 'PUBLISH', 'x', 'after'), 0);
  });

  const faults = [
    ['garbage bytes', () => '@@@ not resp\r\n', /protocol error from the upstream/],
    ['an unexpected push', () => push('invalidate', 'k'), /unexpected push 'invalidate'/],
    ['a push with a nested value', () => `>2\r\n${bulk('message')}*1\r\n:1\r\n`, /push with a nested value/],
  ];
  for (const [what, bytes, logged] of faults) {
    test(`${what}: logged, connection reset and re-established`, T, async () => {
      const conns = up.conns.length;
      up.last.sock.write(bytes());
      await up.waitConns(conns + 1);
      await waitState(n.respPort, 'up');
      assert.match(n.output(), logged);
      assert.equal(await command(n.respPort, 'PING'), 'PONG');
    });
  }

  test('a PUBLISH reply of the wrong type: the publisher gets an error, the bridge resets', T, async () => {
    up.hold.add('PUBLISH');
    try {
      const c = await RawClient.connect(n.respPort);
      await c.send(['PUBLISH', 'x', 'y']);
      await up.waitCommand('PUBLISH');
      const conns = up.conns.length;
      up.reply(bulk('not an integer'));
      assert.equal((await c.readFrame()).raw.toString(), lostError(port));
      await up.waitConns(conns + 1);
      c.close();
    } finally {
      up.hold.delete('PUBLISH');
    }
    assert.match(n.output(), /PUBLISH answered with a '\$' value/);
    await waitState(n.respPort, 'up');
  });

  test('reconnect: HELLO and every held name go in one pipeline, before the HELLO reply', T, async () => {
    const subs = await RawClient.connect(n.respPort);
    await subs.send(['SUBSCRIBE', 'c1', 'c2']);
    await subs.send(['PSUBSCRIBE', 'p*']);
    await subs.send(['SSUBSCRIBE', 's1']);
    await subs.readFrames(4);
    await up.waitFor('SSUBSCRIBE', () => up.last.cmds.some((c) => c[0] === 'SSUBSCRIBE'));
    up.hold.add('HELLO');
    try {
      const conns = up.conns.length;
      up.last.sock.destroy();
      await up.waitFor('the resubscribe pipeline', () => up.conns.length > conns && up.last.cmds.length >= 5);
      assert.ok(countSetup(up.last.cmds[1]), 'the bridge\'s own count channels, right after HELLO');
      const cmds = up.last.cmds.filter((c) => !countSetup(c));
      assert.deepEqual(cmds[0].slice(0, 2), ['HELLO', '3']);
      assert.equal(cmds[1][0], 'SUBSCRIBE');
      assert.deepEqual(cmds[1].slice(1).sort(), ['c1', 'c2'], 'one SUBSCRIBE with every channel');
      assert.deepEqual(cmds.slice(2), [['PSUBSCRIBE', 'p*'], ['SSUBSCRIBE', 's1']]);
      assert.notEqual(await state(n.respPort), 'up', 'not up before the HELLO reply');
      up.reply(HELLO_REPLY);
      await waitState(n.respPort, 'up');
    } finally {
      up.hold.delete('HELLO');
    }
    subs.close();
  });

  test('reconnect with 2500 channels: SUBSCRIBE commands of at most 1024 names, none missing', T, async () => {
    const names = Array.from({ length: 2500 }, (_, i) => `many:${i}`);
    const c = await RawClient.connect(n.respPort);
    await c.send(['SUBSCRIBE', ...names]);
    await c.readFrames(names.length, 20000);
    await up.waitFor('2500 upstream subscriptions', () => up.last.cmds.filter((x) => x[0] === 'SUBSCRIBE').flatMap((x) => x.slice(1)).filter((x) => x.startsWith('many:')).length === 2500);
    const conns = up.conns.length;
    up.last.sock.destroy();
    await up.waitFor('the resubscribe pipeline', () => up.conns.length > conns &&
      up.last.cmds.filter((x) => x[0] === 'SUBSCRIBE').reduce((k, x) => k + x.length - 1, 0) >= 2500);
    const subs = up.last.cmds.filter((x) => x[0] === 'SUBSCRIBE');
    assert.ok(subs.every((x) => x.length - 1 <= 1024), subs.map((x) => x.length - 1).join(' '));
    assert.deepEqual(subs.flatMap((x) => x.slice(1)).filter((x) => x.startsWith('many:')).sort(), [...names].sort());
    await waitState(n.respPort, 'up');
    c.close();
  });

  test('shutdown while a publisher waits: it waits for the answer until --shutdown-timeout (5 s), then gets an error; exit 0, nothing leaked', T, async () => {
    up.hold.add('PUBLISH');
    const c = await RawClient.connect(n.respPort);
    const closed = new Promise((resolve) => c.sock.once('close', resolve));
    await c.send(['PUBLISH', 'x', 'never answered']);
    await up.waitCommand('PUBLISH');
    const r = await n.stop({ graceMs: 30000 });
    n = null;
    assert.equal(r.code, 0, r.output.slice(-3000));
    assert.doesNotMatch(r.output, /LeakSanitizer|AddressSanitizer|runtime error/);
    await closed;
    assert.match(c.buf.toString('latin1'), /^-ERR upstream unavailable: the server is shutting down\r\n$/);
    assert.match(r.output, /shutdown timeout: closing/);
  });
});

describe('bridge: HELLO refused, unix socket upstream, bad URL', () => {
  test('an upstream without RESP3 is reported once, with the reason, and retried', T, async () => {
    const up = new FakeUpstream();
    up.helloReply = "-ERR unknown command 'HELLO', with args beginning with: '3' \r\n";
    const { port } = await up.listen();
    const n = await node(`redis://127.0.0.1:${port}`);
    try {
      await up.waitConns(3);
      assert.notEqual(await state(n.respPort), 'up');
      const log = n.output();
      assert.equal(log.match(/RESP3: Redis 6 or later/g)?.length, 1, log);
      const i = String(await command(n.respPort, 'INFO', 'upstream'));
      assert.match(i, /upstream_last_error:HELLO 3 refused: ERR unknown command/);
    } finally {
      const r = await n.stop();
      await up.close();
      assert.equal(r.code, 0);
    }
  });

  test('unix:///path upstream', T, async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'jl-bridge-'));
    const sock = path.join(dir, 'up.sock');
    const up = new FakeUpstream();
    await up.listen({ path: sock });
    const n = await node(`unix://${sock}`);
    try {
      await waitState(n.respPort, 'up');
      assert.match(String(await command(n.respPort, 'INFO', 'upstream')), new RegExp(`upstream_host:unix:${sock}`));
      assert.equal(await command(n.respPort, 'PUBLISH', 'x', 'y'), 0);
      assert.deepEqual(up.last.cmds.at(-1), ['PUBLISH', 'x', 'y']);
    } finally {
      const r = await n.stop();
      await up.close();
      rmSync(dir, { recursive: true, force: true });
      assert.equal(r.code, 0);
    }
  });

  for (const url of ['http://127.0.0.1:6379', 'redis://', 'redis://host:99999', 'rediss://', 'rediss://h:0']) {
    test(`--upstream ${url} is refused at startup with a clear message`, T, async () => {
      const p = spawnTracked(jugglitePath(), ['--resp-port', '0', '--port', '0', '--address', '127.0.0.1', '--upstream', url]);
      const r = await p.waitExit(10000);
      assert.equal(r.code, 2, 'a bad option exits 2, like the others');
      assert.doesNotMatch(r.err, /listening/, 'checked before anything binds');
      assert.match(r.err, /--upstream .*expected redis\[s\]:\/\/\[\[user\]:password@\]host\[:port\] or unix:\/\/\/path/);
    });
  }
});
