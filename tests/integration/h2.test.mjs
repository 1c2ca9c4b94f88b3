// h2.test.mjs -- HTTP/2 (nghttp2) on the HTTPS listener and, with --h2c, on
// the plain one, against the real binary with real clients:
//   - headless Chromium, trusting the test CA, opens 10 EventSources from
//     one page: all receive, over one connection, and the page says h2;
//   - curl --http2 and nghttp; node's http2 client: many streams on one
//     connection, every route (stream, publish with and without
//     content-length, health, 404);
//   - a stream whose reader stops (its flow-control window stays shut) is
//     reset at --obuf-hard; the other streams of the connection go on;
//   - hostile clients, each on raw frames or node's client: rapid reset,
//     a CONTINUATION flood, PING and SETTINGS floods, an HPACK bomb,
//     garbage after the preface -- each is cut off (GOAWAY or close, or the
//     one stream reset), the server keeps serving everybody else.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import crypto from 'node:crypto';
import http2 from 'node:http2';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { startJugglite, freePort, until, sleep, cleanupAll, RawClient, decodeAll } from './lib/harness.mjs';
import { makeCerts } from './lib/tls.mjs';
import { chromiumPath, launchChromium, trustCa } from './lib/browser.mjs';

after(cleanupAll);
const dir = mkdtempSync(path.join(os.tmpdir(), 'jl-h2-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const certs = makeCerts(path.join(dir, 'certs'));
const T = { timeout: 120000 };

function run(cmd, args, { timeout = 20000 } = {}) {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout, encoding: 'latin1', maxBuffer: 64 << 20 }, (err, stdout, stderr) =>
      resolve({ code: err ? (err.code ?? 1) : 0, out: stdout, err: stderr }));
  });
}

async function command(port, ...args) {
  const c = await RawClient.connect(port);
  try { return decodeAll(await c.call(args, 10000))[0]; } finally { c.close(); }
}

const numsub = async (port, ch) => Number((await command(port, 'PUBSUB', 'NUMSUB', ch))[1]);

// ---- raw HTTP/2 frames, for what no well-behaved client sends ----
const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');
function frame(type, flags, stream, payload = Buffer.alloc(0)) {
  const h = Buffer.alloc(9);
  h.writeUIntBE(payload.length, 0, 3);
  h[3] = type;
  h[4] = flags;
  h.writeUInt32BE(stream, 5);
  return Buffer.concat([h, payload]);
}
const SETTINGS = (payload) => frame(0x4, 0, 0, payload);
const PING = (ack = 0) => frame(0x6, ack, 0, Buffer.alloc(8, 7));
/** HPACK for GET http://x/health: :method GET, :scheme http, :path /health (literal), :authority x. */
function getHealth() {
  const path = Buffer.from('/health');
  return Buffer.concat([Buffer.from([0x82, 0x86, 0x04, path.length]), path, Buffer.from([0x01, 1, 0x78])]);
}

/** A raw h2c connection: writes, collects frames, tells when closed. */
function rawH2(port) {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => resolve(c));
    s.on('error', () => {});
    let buf = Buffer.alloc(0);
    const c = {
      s, frames: [], closed: false, paused: false,
      write: (b) => new Promise((r) => { if (s.destroyed) return r(false); s.write(b, () => r(true)); }),
      has: (type) => c.frames.some((f) => f.type === type),
      goaway: () => c.frames.find((f) => f.type === 0x7),
      close: () => s.destroy(),
    };
    s.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 9) {
        const len = buf.readUIntBE(0, 3);
        if (buf.length < 9 + len) break;
        c.frames.push({ type: buf[3], flags: buf[4], stream: buf.readUInt32BE(5) & 0x7fffffff, payload: buf.subarray(9, 9 + len) });
        buf = buf.subarray(9 + len);
      }
    });
    s.on('close', () => { c.closed = true; });
    s.on('connect', () => {});
    s.once('error', reject);
  });
}

/** SSE over node's http2 client: resolves {events, stream} once the head came. */
function sseStream(session, ch) {
  return new Promise((resolve, reject) => {
    const req = session.request({ ':path': `/stream?channel=${ch}`, accept: 'text/event-stream' });
    const r = { events: [], req, status: 0, text: '' };
    req.setEncoding('utf8');
    req.on('response', (h) => { r.status = h[':status']; resolve(r); });
    req.on('data', (d) => {
      r.text += d;
      for (const m of r.text.matchAll(/^data: (.*)$/gm)) if (!r.events.includes(m[1])) r.events.push(m[1]);
    });
    req.on('error', (e) => { r.error = e; });
    req.on('close', () => { r.closed = true; });
    req.once('error', reject);
  });
}

function h2Request(session, headers, body) {
  return new Promise((resolve, reject) => {
    const req = session.request(headers);
    let data = '';
    let status = 0;
    req.setEncoding('utf8');
    req.on('response', (h) => { status = h[':status']; });
    req.on('data', (d) => { data += d; });
    req.on('end', () => resolve({ status, body: data }));
    req.on('error', reject);
    if (body !== undefined) req.end(body); else req.end();
  });
}

test('cookie fields sent apart (as browsers do over HTTP/2) reach the token check as one Cookie', T, async () => {
  const key = crypto.randomBytes(32).toString('hex');
  writeFileSync(path.join(dir, 'hs.key'), `${key}\n`);
  const b64 = (b) => Buffer.from(b).toString('base64url');
  const data = `${b64(JSON.stringify({ alg: 'HS256', typ: 'JWT' }))}.${b64(JSON.stringify({ sub: 'ann', exp: Math.floor(Date.now() / 1000) + 600, jugglite: { subscribe: ['news'] } }))}`;
  const token = `${data}.${b64(crypto.createHmac('sha256', key).update(data).digest())}`;
  const srv = await startJugglite({ args: ['--h2c', '--token-key', path.join(dir, 'hs.key'), '--token-required'] });
  const session = http2.connect(`http://127.0.0.1:${srv.ssePort}`);
  try {
    const open = (cookie) => new Promise((resolve, reject) => {
      const req = session.request({ ':path': '/stream?channel=news', cookie });
      req.on('response', (h) => { resolve(h[':status']); req.close(); });
      req.on('error', reject);
    });
    assert.equal(await open(['a=1', `jugglite_token=${token}`, 'b=2']), 200);
    assert.equal(await open(['a=1', 'b=2']), 401);
  } finally {
    session.destroy();
    await srv.stop();
  }
});

test('an event published to 100 HTTP/2 streams is held once, not once per stream', T, async () => {
  const srv = await startJugglite({ args: ['--h2c', '--obuf-hard', '64mb', '--obuf-soft', '0', '--max-message-size', '4mb'] });
  const session = http2.connect(`http://127.0.0.1:${srv.ssePort}`);
  const rss = () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${srv.proc.pid}/status`, 'utf8'))[1]) * 1024;
  try {
    const streams = [];
    for (let i = 0; i < 100; i++) streams.push(await sseStream(session, 'shared')); // under the 128 concurrent
    for (const st of streams) st.req.pause(); // nothing read: each stream's window (64 KiB) shuts
    await until(async () => (await numsub(srv.respPort, 'shared')) === 100, 'subscribed');
    await sleep(200);
    const before = rss();
    const c = await RawClient.connect(srv.respPort);
    try { assert.equal(decodeAll(await c.call(['PUBLISH', 'shared', 'y'.repeat(2 << 20)], 30000))[0], 100); } finally { c.close(); }
    await sleep(500);
    const grown = rss() - before;
    // Copied per stream, 100 x 2 MiB would be 200 MiB; shared, the event is
    // there once, plus at most a window's worth per stream already framed.
    assert.ok(grown < 40 << 20, `RSS grew ${grown} bytes`);
    assert.equal(await numsub(srv.respPort, 'shared'), 100, 'every stream still there, its queue holding a reference');
    process.stdout.write(`# 100 streams x 2 MiB event: RSS +${(grown / 1048576).toFixed(1)} MiB\n`);
  } finally {
    session.destroy();
    await srv.stop();
  }
});

test('SIGTERM: every HTTP/2 stream gets its retry: and ends, GOAWAY, exit 0', T, async () => {
  const srv = await startJugglite({ args: ['--h2c'] });
  const session = http2.connect(`http://127.0.0.1:${srv.ssePort}`);
  let goaway = false;
  session.on('goaway', () => { goaway = true; });
  session.on('error', () => {});
  try {
    const streams = [];
    for (let i = 0; i < 5; i++) streams.push(await sseStream(session, 'bye'));
    await until(async () => (await numsub(srv.respPort, 'bye')) === 5, 'subscribed');
    const r = await srv.stop();
    assert.equal(r.code, 0, 'a clean exit');
    await until(() => streams.every((st) => st.closed), 'every stream ended');
    assert.ok(streams.every((st) => /\nretry: \d+\n\n/.test(st.text) && !st.error), 'each a retry:, each ended cleanly');
    assert.ok(goaway, 'GOAWAY on the connection');
  } finally { session.destroy(); }
});

test('over --max-conns, an HTTP/2 stream is shed as an HTTP/1.1 one: 200, retry:, the end', T, async () => {
  const srv = await startJugglite({ args: ['--h2c', '--max-conns', '1'] });
  const hold = await RawClient.connect(srv.respPort); // the one connection allowed
  // Answered: the server has accepted it (a connect alone only reaches the
  // kernel's queue, and the HTTP/2 connection could be accepted first).
  assert.equal(decodeAll(await hold.call(['PING'], 30000))[0], 'PONG');
  const session = http2.connect(`http://127.0.0.1:${srv.ssePort}`);
  session.on('error', () => {});
  try {
    const st = await sseStream(session, 'full');
    assert.equal(st.status, 200, 'not a 503: an EventSource would give up');
    await until(() => st.closed, 'the stream ended');
    assert.match(st.text, /^retry: \d+\n\n$/);
    assert.equal(Number(decodeAll(await hold.call(['PUBSUB', 'NUMSUB', 'full']))[0][1]), 0, 'never subscribed');
  } finally {
    session.destroy();
    hold.close();
    await srv.stop();
  }
});

describe('HTTP/2', () => {
  let srv;
  before(async () => {
    const tlsPort = await freePort();
    srv = await startJugglite({
      args: ['--tls-port', String(tlsPort), '--tls-cert-file', certs.cert, '--tls-key-file', certs.key, '--h2c',
        '--publish-token', 'tok', '--obuf-hard', '256kb', '--obuf-soft', '128kb', '--obuf-soft-seconds', '1'],
      ready: [/RESP listening on (\S+):(\d+)/, /SSE listening on (\S+):(\d+)/, /SSE\/TLS listening/],
    });
    srv.tlsPort = tlsPort;
  });
  after(async () => { await srv?.stop(); });

  test('Chromium, trusting the CA: 10 EventSources from one page over one h2 connection, all receive', T, async (t) => {
    if (!chromiumPath()) return t.skip('no chromium');
    const home = path.join(dir, 'chromium-home');
    await trustCa(home, certs.ca);
    const browser = await launchChromium({ env: { HOME: home } });
    try {
      const page = await browser.newPage();
      const resp = await page.goto(`https://localhost:${srv.tlsPort}/health`);
      assert.equal(resp.status(), 200);
      const N = 10;
      await page.evaluate((n) => {
        window.got = [];
        for (let i = 0; i < n; i++) {
          const es = new EventSource(`/stream?channel=tab${i}`);
          es.onmessage = (e) => window.got.push(`${i}:${e.data}`);
        }
      }, N);
      for (let i = 0; i < N; i++) await until(async () => (await numsub(srv.respPort, `tab${i}`)) === 1, `EventSource ${i} subscribed`);
      for (let i = 0; i < N; i++) await command(srv.respPort, 'PUBLISH', `tab${i}`, `hello ${i}`);
      await until(async () => (await page.evaluate(() => window.got.length)) === N, 'every EventSource received');
      assert.deepEqual((await page.evaluate(() => window.got)).sort(), Array.from({ length: N }, (_, i) => `${i}:hello ${i}`).sort());
      assert.equal(await page.evaluate(() => performance.getEntriesByType('navigation')[0].nextHopProtocol), 'h2');
      const conns = await run('ss', ['-Htn', 'state', 'established', `( sport = :${srv.tlsPort} )`]);
      assert.equal(conns.out.trim().split('\n').filter(Boolean).length, 1, `one TCP connection for the page and its 10 streams:\n${conns.out}`);
    } finally { await browser.close(); }
  });

  test('curl --http2 over TLS and nghttp over h2c', T, async () => {
    const stream = run('curl', ['-sS', '-N', '--http2', '--cacert', certs.ca, '--max-time', '3', '-w', '\n%{http_version}',
      `https://localhost:${srv.tlsPort}/stream?channel=curl2`]);
    await until(async () => (await numsub(srv.respPort, 'curl2')) === 1, 'curl subscribed');
    await command(srv.respPort, 'PUBLISH', 'curl2', 'via curl over h2');
    const r = await stream;
    assert.match(r.out, /data: via curl over h2\n\n/);
    assert.match(r.out, /\n2$/, 'HTTP/2');
    const ng = await run('nghttp', ['-v', `http://127.0.0.1:${srv.ssePort}/health`]);
    assert.equal(ng.code, 0, ng.err);
    assert.match(ng.out, /recv \(stream_id=\d+\) :status: 200/);
    assert.match(ng.out, /"status":"ok"/);
  });

  test('node http2 (h2c): 50 streams on one connection, publish with and without content-length, 404', T, async () => {
    const session = http2.connect(`http://127.0.0.1:${srv.ssePort}`);
    try {
      const streams = [];
      for (let i = 0; i < 50; i++) streams.push(await sseStream(session, 'many'));
      assert.ok(streams.every((s) => s.status === 200));
      await until(async () => (await numsub(srv.respPort, 'many')) === 50, '50 streams subscribed');
      const withLen = await h2Request(session, { ':method': 'POST', ':path': '/publish?channel=many', authorization: 'Bearer tok', 'content-length': '5' }, 'first');
      assert.equal(withLen.status, 200, withLen.body);
      assert.match(withLen.body, /"receivers":50/);
      const chunked = await h2Request(session, { ':method': 'POST', ':path': '/publish?channel=many', authorization: 'Bearer tok' }, 'second');
      assert.equal(chunked.status, 200, chunked.body);
      await until(() => streams.every((s) => s.events.join() === 'first,second'), 'every stream got both');
      assert.equal((await h2Request(session, { ':path': '/nope' })).status, 404);
      const health = await h2Request(session, { ':path': '/health' });
      assert.equal(health.status, 200);
      assert.match(health.body, /"sse_streams":50/);
    } finally { session.destroy(); }
    await until(async () => (await numsub(srv.respPort, 'many')) === 0, 'the streams gone with the connection');
  });

  test('a stream whose reader stops is reset at --obuf-hard; its neighbours go on', T, async () => {
    const session = http2.connect(`http://127.0.0.1:${srv.ssePort}`, { settings: { initialWindowSize: 65535 } });
    try {
      const slow = await sseStream(session, 'slow');
      const fine = await sseStream(session, 'slow');
      slow.req.pause(); // no more WINDOW_UPDATEs for this stream
      await until(async () => (await numsub(srv.respPort, 'slow')) === 2, 'both subscribed');
      const big = 'x'.repeat(16 * 1024);
      for (let i = 0; i < 40 && (await numsub(srv.respPort, 'slow')) === 2; i++) {
        await command(srv.respPort, 'PUBLISH', 'slow', `${i}:${big}`);
        await sleep(20);
      }
      await until(async () => (await numsub(srv.respPort, 'slow')) === 1, 'the slow stream dropped');
      await command(srv.respPort, 'PUBLISH', 'slow', 'after');
      await until(() => fine.events.includes('after'), 'the other stream still delivers');
      assert.ok(!session.destroyed && !session.closed, 'the connection itself stays');
      await until(() => slow.closed, 'the slow stream was reset');
    } finally { session.destroy(); }
  });

  const alive = async () => {
    const r = await run('curl', ['-sS', '--http2', '--cacert', certs.ca, `https://localhost:${srv.tlsPort}/health`]);
    assert.match(r.out, /"status":"ok"/, 'the server still serves');
  };

  test('rapid reset: streams opened and cancelled at once are cut off', T, async () => {
    const session = http2.connect(`http://127.0.0.1:${srv.ssePort}`);
    session.on('error', () => {});
    let goaway = null;
    session.on('goaway', (code) => { goaway = code; });
    await new Promise((r) => session.once('connect', r));
    for (let i = 0; i < 5000 && !session.destroyed && goaway === null; i++) {
      const req = session.request({ ':path': '/stream?channel=rr' });
      req.on('error', () => {});
      req.close(http2.constants.NGHTTP2_CANCEL);
      if (i % 100 === 0) await sleep(0);
    }
    await until(() => goaway !== null || session.destroyed || session.closed, 'GOAWAY or close');
    session.destroy();
    await alive();
    assert.equal(await numsub(srv.respPort, 'rr'), 0);
  });

  test('CONTINUATION flood: GOAWAY and close', T, async () => {
    const c = await rawH2(srv.ssePort);
    // HEADERS without END_HEADERS, then CONTINUATION frames that never end
    // it (one write: later ones would meet a closed socket, whose reset may
    // discard the GOAWAY before it is read).
    const flood = Array.from({ length: 50 }, () => frame(0x9, 0, 1, Buffer.from([0x40, 1, 0x61, 1, 0x62])));
    await c.write(Buffer.concat([PREFACE, SETTINGS(), frame(0x1, 0, 1, getHealth()), ...flood]));
    await until(() => c.closed, 'closed by the server');
    assert.equal(c.goaway()?.payload.readUInt32BE(4), 0xb, 'GOAWAY ENHANCE_YOUR_CALM first');
    await alive();
  });

  test('PING and SETTINGS floods from a client that does not read: cut off', T, async () => {
    for (const flood of [PING(), SETTINGS()]) {
      const c = await rawH2(srv.ssePort);
      c.s.pause(); // read nothing: the answers pile up
      await c.write(Buffer.concat([PREFACE, SETTINGS()]));
      const burst = Buffer.concat(Array.from({ length: 1000 }, () => flood));
      for (let i = 0; i < 2000 && !c.closed; i++) {
        const ok = await Promise.race([c.write(burst), sleep(2000).then(() => 'stuck')]);
        if (ok !== true) break; // the server stopped reading or closed
      }
      await until(() => c.s.destroyed || c.closed || c.s.writableLength > 0, 'the server stops taking the flood', 30000);
      c.s.resume();
      await until(() => c.closed, 'closed by the server', 30000);
      await alive();
    }
  });

  test('an HPACK bomb (one big header repeated from the dynamic table) resets its stream only', T, async () => {
    const c = await rawH2(srv.ssePort);
    const value = Buffer.alloc(4000, 0x61);
    // literal with incremental indexing, new name "x-bomb", value of 4000 bytes
    const literal = Buffer.concat([Buffer.from([0x40, 6]), Buffer.from('x-bomb'), Buffer.from([0x7f, 0xa1, 0x1e]), value]);
    const refs = Buffer.alloc(200, 0xbe); // indexed field 62: the entry just added
    await c.write(Buffer.concat([PREFACE, SETTINGS(), frame(0x1, 0x5, 1, Buffer.concat([getHealth(), literal, refs]))]));
    await until(() => c.frames.some((f) => f.type === 0x3 && f.stream === 1), 'RST_STREAM for the bomb');
    await c.write(frame(0x1, 0x5, 3, getHealth()));
    await until(() => c.frames.some((f) => f.type === 0x1 && f.stream === 3), 'the next request on the same connection is answered');
    assert.equal(c.closed, false);
    c.close();
  });

  test('garbage after the preface: GOAWAY PROTOCOL_ERROR, close', T, async () => {
    const c = await rawH2(srv.ssePort);
    await c.write(Buffer.concat([PREFACE, Buffer.alloc(64, 0xff)]));
    await until(() => c.closed, 'closed');
    assert.ok(c.goaway());
    await alive();
    assert.match(String(await command(srv.respPort, 'PING')), /PONG/);
  });
});
