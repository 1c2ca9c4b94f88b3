// The log lines of issue 16, read from a real server's stderr:
// at info, a client refused over --max-conns (with its peer, at most one
// line a second, later lines counting the refusals they did not log), a
// failed AUTH and a failed HELLO AUTH (with the peer), a refused oversized
// PUBLISH (peer, size, limit), a client starting MONITOR. Never a password
// or a payload, at any level: the server runs at debug here. The SSE side:
// each stream's peer and channels at debug, a browser shed over --max-conns.

import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startJugglite, jugglitePath, RawClient, SseClient, sleep, until, TARGET } from './lib/harness.mjs';

const T = { timeout: 60000 };
const PASS = 'correct-horse-battery';
const SECRETS = ['wrong-password-one', 'wrong-password-two', 'payload-that-must-stay-private'];
const INFO = (msg) => new RegExp(`^\\S+ \\d+ INFO ${msg}$`, 'm');

let srv;
before(async () => {
  srv = await startJugglite({
    args: ['--requirepass', PASS, '--max-conns', '3', '--max-message-size', '1k', '--port', '-1'],
    ssePort: null, logLevel: 'debug',
  });
});
after(async () => { await srv?.stop(); });

const peerOf = (c) => `${c.sock.localAddress}:${c.sock.localPort}`;
const esc = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Waits for a line matching re in the server's output. */
async function logLine(re, timeout = 10000) {
  const end = Date.now() + timeout;
  for (;;) {
    const m = srv.output().match(re);
    if (m) return m;
    if (Date.now() > end) throw new Error(`no log line ${re} in:\n${srv.logTail(40)}`);
    await sleep(20);
  }
}

async function authed() {
  const c = await RawClient.connect(srv.respPort);
  assert.equal((await c.call(['AUTH', PASS])).toString(), '+OK\r\n');
  return c;
}

describe('log lines', { skip: TARGET === 'redis' && 'jugglite logs' }, () => {
  test('failed AUTH and HELLO AUTH: the peer, not the password', T, async () => {
    const c = await RawClient.connect(srv.respPort);
    assert.match((await c.call(['AUTH', SECRETS[0]])).toString(), /^-WRONGPASS/);
    await logLine(INFO(`failed AUTH from client id=\\d+ ${esc(peerOf(c))}: wrong password or unknown user`));
    assert.match((await c.call(['HELLO', '3', 'AUTH', 'default', SECRETS[1]])).toString(), /^-WRONGPASS/);
    await logLine(INFO(`failed HELLO AUTH from client id=\\d+ ${esc(peerOf(c))}: wrong password or unknown user`));
    // A good password is not a failure.
    const before = srv.output().match(/failed (HELLO )?AUTH/g).length;
    assert.equal((await c.call(['AUTH', PASS])).toString(), '+OK\r\n');
    await sleep(100);
    assert.equal(srv.output().match(/failed (HELLO )?AUTH/g).length, before);
    c.close();
  });

  test('a refused oversized PUBLISH: peer, size and limit, not the payload', T, async () => {
    const c = await authed();
    const payload = SECRETS[2] + 'x'.repeat(1200);
    assert.match((await c.call(['PUBLISH', 'ch', payload])).toString(), /^-ERR message too large/);
    await logLine(INFO(`refused PUBLISH from client id=\\d+ ${esc(peerOf(c))}: message of ${payload.length} bytes, ` +
      'the limit \\(--max-message-size\\) is 1000 bytes'));
    c.close();
  });

  test('MONITOR is logged with the peer', T, async () => {
    const c = await authed();
    assert.equal((await c.call(['MONITOR'])).toString(), '+OK\r\n');
    await logLine(INFO(`client id=\\d+ ${esc(peerOf(c))} started MONITOR`));
    c.close();
  });

  test('clients refused over --max-conns: the peer, one line a second, none uncounted', T, async () => {
    // Fill the cap (3) with idle clients; wait until the server counts them.
    const held = [];
    for (let i = 0; i < 3; i++) held.push(await authed());
    const refusedLines = () => [...srv.output().matchAll(/ INFO refused RESP client (\S+): --max-conns \(3\) reached(?:; (\d+) more refused since the last such line)?$/gm)];
    const refuse = async () => {
      const c = await RawClient.connect(srv.respPort);
      const peer = peerOf(c);     // gone once closed
      await c.waitClose(10000);
      assert.equal(c.buf.toString(), '-ERR max number of clients reached\r\n');
      return peer;
    };
    const first = await refuse();
    await logLine(new RegExp(`INFO refused RESP client ${esc(first)}: --max-conns \\(3\\) reached$`, 'm'));
    // A burst: logged at most once a second...
    const burst = 20;
    const t0 = Date.now();
    for (let i = 0; i < burst; i++) await refuse();
    const seconds = (Date.now() - t0) / 1000;
    assert.ok(refusedLines().length <= 1 + Math.ceil(seconds) + 1, `${refusedLines().length} lines for a ${seconds} s burst`);
    // ... and every refusal is accounted for by the next line once a second has passed.
    await sleep(1100);
    await refuse();
    await sleep(100);
    const lines = refusedLines();
    const counted = lines.reduce((n, m) => n + 1 + Number(m[2] || 0), 0);
    assert.equal(counted, 1 + burst + 1, lines.map((m) => m[0]).join('\n'));
    for (const c of held) c.close();
  });

  test('no password and no payload anywhere in the log', T, async () => {
    for (const s of [PASS, ...SECRETS]) assert.ok(!srv.output().includes(s), `the log contains ${s}`);
  });
});

describe('log lines: the SSE side', { skip: TARGET === 'redis' && 'jugglite logs' }, () => {
  let web;
  before(async () => {
    web = await startJugglite({ args: ['--max-conns', '1'], logLevel: 'debug' });
  });
  after(async () => { await web?.stop(); });

  const webLine = async (re, timeout = 10000) => {
    const end = Date.now() + timeout;
    for (;;) {
      const m = web.output().match(re);
      if (m) return m;
      if (Date.now() > end) throw new Error(`no log line ${re} in:\n${web.logTail(40)}`);
      await sleep(20);
    }
  };

  test("at debug, each stream's peer and the channels it was registered to", T, async () => {
    const s = await SseClient.open(web.ssePort, '/stream?channel=news,chat');
    await s.waitBody((t) => t.includes('registered to channels'), 10000);
    const peer = `${s.sock.localAddress}:${s.sock.localPort}`;
    await webLine(new RegExp(`^\\S+ \\d+ DEBUG SSE stream id=\\d+ ${esc(peer)}: registered to channels: news, chat$`, 'm'));
    // Over --max-conns (1): the next browser is shed, and the log says who and why.
    const shed = await SseClient.open(web.ssePort, '/stream?channel=x');
    const shedPeer = `${shed.sock.localAddress}:${shed.sock.localPort}`;
    await webLine(new RegExp(`^\\S+ \\d+ INFO refused SSE client ${esc(shedPeer)}: --max-conns \\(1\\) reached$`, 'm'));
    shed.close();
    s.close();
  });
});

// --access-log: one INFO line per SSE stream as it ends, over HTTP/1.1 and
// HTTP/2, with the peer, the channels, the duration, the events and bytes
// written, and the reason.
describe('--access-log', () => {
  test('one line per stream end: peer, channels, events, bytes, reason', T, async () => {
    const s = await startJugglite({ args: ['--access-log', '--h2c'], logLevel: 'info' });
    try {
      const c = await SseClient.open(s.ssePort, '/stream?channel=a,b');
      await c.waitComments(1);
      const pub = await RawClient.connect(s.respPort);
      for (const m of ['one', 'two']) await pub.call(['PUBLISH', 'a', m]);
      await c.waitEvents(2);
      const peer = `${c.sock.localAddress}:${c.sock.localPort}`;
      c.close();
      const end = Date.now() + 10000;
      let line;
      while (!(line = s.output().match(/^\S+ \d+ INFO SSE stream end .*$/m)) && Date.now() < end) await sleep(20);
      assert.ok(line, s.logTail(20));
      assert.match(line[0], new RegExp(`id=\\d+ peer=${esc(peer)} user=- channels="a, b" duration=[0-9.]+s events=2 bytes=(\\d+) reason="closed by peer"$`));
      const bytes = Number(/bytes=(\d+)/.exec(line[0])[1]);
      assert.equal(bytes, Buffer.byteLength(c.rawHead, 'latin1') + c.rawBody.length, 'the bytes the client got');
      const http2 = await import('node:http2');
      const session = http2.connect(`http://127.0.0.1:${s.ssePort}`);
      const req = session.request({ ':path': '/stream?channel=h' });
      await new Promise((r) => req.once('response', r));
      await new Promise((r) => req.once('data', r));
      req.close(http2.constants.NGHTTP2_CANCEL);
      const end2 = Date.now() + 10000;
      while (!/channels="h" .*reason="HTTP\/2 stream reset by the client"$/m.test(s.output()) && Date.now() < end2) await sleep(20);
      assert.match(s.output(), /SSE stream end id=\d+ peer=127\.0\.0\.1:\d+ user=- channels="h" duration=\S+ events=0 bytes=\d+ reason="HTTP\/2 stream reset by the client"$/m);
      session.destroy();
      pub.close();
    } finally { await s.stop(); }
  });
});

// --log-format json: every line one JSON object, keys time, pid, level, msg in
// that order, whatever bytes the message holds (a client's quote, backslash,
// control character or invalid UTF-8) and however long it is (cut inside the
// message, never after it). The text format is what the tests above read.
describe('--log-format json', { skip: TARGET === 'redis' && 'jugglite logs' }, () => {
  const KEYS = ['time', 'pid', 'level', 'msg'];
  const TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

  /** Every line of the output as parsed JSON; fails on any that is not. */
  const jsonLines = (output) => {
    // The harness keeps the output as latin1: back to the bytes, which must be UTF-8.
    const text = new TextDecoder('utf-8', { fatal: true }).decode(Buffer.from(output, 'latin1'));
    assert.ok(text.endsWith('\n'), 'the last line is whole');
    return text.slice(0, -1).split('\n').map((line) => {
      let o;
      assert.doesNotThrow(() => { o = JSON.parse(line); }, `not JSON: ${line}`);
      assert.deepEqual(Object.keys(o), KEYS, line);
      assert.match(o.time, TIME, line);
      assert.ok(Number.isInteger(o.pid) && o.pid > 0, line);
      assert.ok(['debug', 'info', 'warn', 'error'].includes(o.level), line);
      assert.equal(typeof o.msg, 'string', line);
      assert.ok(Buffer.byteLength(line) + 1 <= 1024, `${Buffer.byteLength(line)} bytes: ${line}`);
      return o;
    });
  };

  test('each line is one JSON object, hostile bytes escaped, long lines cut inside the message', T, async () => {
    const s = await startJugglite({ args: ['--log-format', 'json', '--requirepass', PASS], logLevel: 'debug' });
    let out;
    try {
      // A failed AUTH (info), and SSE streams whose channel names the debug line echoes.
      const c = await RawClient.connect(s.respPort);
      assert.match((await c.call(['AUTH', SECRETS[0]])).toString(), /^-WRONGPASS/);
      c.close();
      const hostile = await SseClient.open(s.ssePort, '/stream?channel=a%22b%5Cc%01d%FFe%C3%A9%0Bz');
      await hostile.waitBody((t) => t.includes('registered to channels'), 10000);
      hostile.close();
      const long = await SseClient.open(s.ssePort, `/stream?channel=${'%22'.repeat(2000)}`);
      await long.waitBody((t) => t.includes('registered to channels'), 10000);
      long.close();
      await until(() => (s.output().match(/registered to channels/g) || []).length >= 2, 'the SSE lines');
      await until(() => s.output().includes('failed AUTH'), 'the AUTH line');
    } finally {
      out = (await s.stop()).output;
    }
    const lines = jsonLines(out);
    const pid = Number(/ready \(pid (\d+),/.exec(lines.map((o) => o.msg).join('\n'))[1]);
    for (const o of lines) assert.equal(o.pid, pid);
    const msgs = lines.map((o) => o.msg);
    const has = (re) => assert.ok(msgs.some((m) => re.test(m)), `no message ${re} in:\n${msgs.join('\n')}`);
    has(/^RESP listening on 127\.0\.0\.1:\d+$/);
    has(/^failed AUTH from client id=\d+ 127\.0\.0\.1:\d+: wrong password or unknown user$/);
    assert.ok(msgs.includes('bye'), 'the last line');
    assert.equal(lines.find((o) => o.msg.startsWith('failed AUTH')).level, 'info');
    // The bytes as the client sent them, but 0xFF (not UTF-8) as U+FFFD.
    const sse = lines.find((o) => o.msg.includes('registered to channels: a"'));
    assert.equal(sse.level, 'debug');
    assert.match(sse.msg, /^SSE stream id=\d+ 127\.0\.0\.1:\d+: registered to channels: a"b\\c\u0001d\ufffde\u00e9\u000bz$/);
    // ...escaped on the wire: no raw control byte in the file.
    assert.ok(!/[\x00-\x09\x0b-\x1f]/.test(out), 'a raw control character in the log');
    assert.ok(out.includes(String.raw`registered to channels: a\"b\\c\u0001d\ufffde`), out);
    // The long one: cut, still JSON, nothing but whole escaped quotes after the colon.
    const cut = lines.find((o) => /registered to channels: "/.test(o.msg));
    const quotes = cut.msg.split('registered to channels: ')[1];
    assert.match(quotes, /^"+$/);
    assert.ok(quotes.length > 300 && quotes.length < 2000, `${quotes.length} quotes`);
    for (const secret of [PASS, SECRETS[0]]) assert.ok(!out.includes(secret), `the log contains ${secret}`);
  });

  test('SIGHUP switches the format, as it does the level', T, async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'jl-logfmt-'));
    const conf = path.join(dir, 'jugglite.conf');
    writeFileSync(conf, 'log-format text\n');
    const s = await startJugglite({ args: ['--config', conf] });
    try {
      assert.match(s.output(), /^\S+ \d+ INFO RESP listening on /m);
      // The harness returns at the "listening" lines: the last start-up line may follow.
      await until(() => /^\S+ \d+ INFO jugglite \S+ ready .*\n/m.test(s.output()), 'the ready line');
      writeFileSync(conf, 'log-format json\n');
      const before = s.output().length;
      s.proc.kill('SIGHUP');
      await until(() => s.output().slice(before).includes('SIGHUP: configuration reloaded'), 'the reload');
      const after = jsonLines(s.output().slice(before));
      assert.equal(after.at(-1).msg, 'SIGHUP: configuration reloaded; changed: log-format');
      assert.equal(after.at(-1).level, 'info');
      writeFileSync(conf, 'log-format text\n');
      const again = s.output().length;
      s.proc.kill('SIGHUP');
      await until(() => s.output().slice(again).includes('SIGHUP: configuration reloaded'), 'the second reload');
      assert.match(s.output().slice(again), /^\S+ \d+ INFO SIGHUP: configuration reloaded; changed: log-format\n$/);
    } finally {
      await s.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('an unknown format is refused: exit 2 and the reason', () => {
    for (const [args, env] of [[['--log-format', 'bogus'], {}], [[], { JUGGLITE_LOG_FORMAT: 'bogus' }]]) {
      let err;
      try {
        execFileSync(jugglitePath(), args, { encoding: 'utf8', timeout: 10000, stdio: 'pipe', env: { ...process.env, ...env } });
      } catch (e) {
        err = e;
      }
      assert.ok(err, 'exits non-zero');
      assert.equal(err.status, 2);
      const where = env.JUGGLITE_LOG_FORMAT ? 'JUGGLITE_LOG_FORMAT: ' : '';
      assert.equal(err.stderr, `jugglite: ${where}invalid value 'bogus' for --log-format (see --help)\n`);
    }
  });
});
