// Tests of the test infrastructure itself (lib/*.mjs), so that a failure in
// the real suites points at the server, not at the harness. Runs without
// jugglite: against redis-server, small in-process Node servers, the npm
// `eventsource` client and headless Chromium.

import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import {
  startRedis, freePort, RawClient, encode, splitFrames, decodeAll, escapeBytes, diff, compare,
  SseClient, parseSseStream, httpRequest, unknownCommandError, spawnTracked, sleep,
} from './lib/harness.mjs';
import { chromiumPath, launchChromium } from './lib/browser.mjs';

const T = { timeout: 30000 };

describe('resp helpers', () => {
  test('encode', T, () => {
    assert.equal(encode('PING').toString(), '*1\r\n$4\r\nPING\r\n');
    assert.equal(encode(['SET', 'k', Buffer.from([0, 255])]).toString('latin1'), '*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$2\r\n\x00\xff\r\n');
    assert.equal(encode('ECHO', 'é').toString('latin1'), '*2\r\n$4\r\nECHO\r\n$2\r\n\xc3\xa9\r\n');
  });
  test('parse RESP2 and RESP3 frames, partial and malformed input', T, () => {
    const all = '+OK\r\n-ERR x\r\n:12\r\n$3\r\nabc\r\n$-1\r\n*2\r\n$1\r\na\r\n:1\r\n*-1\r\n' +
      '%1\r\n$1\r\nk\r\n#t\r\n_\r\n,1.5\r\n(123\r\n=7\r\ntxt:abc\r\n~1\r\n+x\r\n>3\r\n$7\r\nmessage\r\n$1\r\na\r\n$1\r\nb\r\n' +
      '|1\r\n+a\r\n+b\r\n:5\r\n';
    assert.deepEqual(decodeAll(Buffer.from(all)), ['OK', 'ERR x', 12, 'abc', null, ['a', 1], null,
      [['k', true]], null, '1.5', '123', 'txt:abc', ['x'], ['message', 'a', 'b'], [['a', 'b']]]);
    for (let cut = 0; cut < all.length; cut++) {
      const { frames, rest } = splitFrames(Buffer.from(all.slice(0, cut)));
      assert.equal(Buffer.concat([...frames.map((f) => f.raw), rest]).toString(), all.slice(0, cut));
    }
    const bad = splitFrames(Buffer.from('+OK\r\n?x\r\n'));
    assert.equal(bad.frames.length, 1);
    assert.match(bad.malformed, /unknown type byte/);
  });
  test('escapeBytes', T, () => {
    assert.equal(escapeBytes('a\r\nb\x00\\'), 'a\\r\\nb\\x00\\\\');
  });
  test('unknownCommandError matches the Redis format', T, () => {
    assert.equal(unknownCommandError(['FOO']), "-ERR unknown command 'FOO', with args beginning with: \r\n");
    assert.equal(unknownCommandError(['foo', 'a', 'b']), "-ERR unknown command 'foo', with args beginning with: 'a' 'b' \r\n");
  });
});

describe('raw client and diff against redis-server', () => {
  let r1, r2;
  before(async () => { [r1, r2] = await Promise.all([startRedis(), startRedis()]); });
  after(async () => { await Promise.all([r1?.stop(), r2?.stop()]); });

  test('RawClient reads', T, async () => {
    const c = await RawClient.connect(r1.port);
    await c.send('PING\r\n');
    assert.equal((await c.readExactly(7)).toString(), '+PONG\r\n');
    await c.send(encode('ECHO', 'hello'));
    assert.equal((await c.readFrame()).raw.toString(), '$5\r\nhello\r\n');
    await c.send(Buffer.concat([encode('PING'), encode('PING')]));
    assert.equal((await c.readUntilString('PONG\r\n+PONG\r\n')).toString(), '+PONG\r\n+PONG\r\n');
    assert.equal((await c.readFor(50)).length, 0);
    await c.send(encode('PING'));
    assert.equal((await c.readQuiet({ quiet: 300 })).toString(), '+PONG\r\n');
    await c.send('QUIT\r\n');
    assert.equal((await c.readExactly(5)).toString(), '+OK\r\n');
    assert.equal(await c.waitClose(2000), true);
    await assert.rejects(c.readExactly(1, 200), /closed/);
  });

  test('RawClient read timeouts are bounded', T, async () => {
    const c = await RawClient.connect(r1.port);
    const t0 = Date.now();
    await assert.rejects(c.readExactly(1, 200), /timeout after 200 ms/);
    assert.ok(Date.now() - t0 < 1000);
    c.close();
  });

  test('diff passes for two redis-servers, fails with a readable report on difference', T, async () => {
    await diff([
      { on: 'a', send: ['PING'] },
      { on: 'a', send: ['SUBSCRIBE', 'x', 'y'] },
      { on: 'b', send: ['PUBLISH', 'x', 'hi'] },
      { on: 'a', send: ['UNSUBSCRIBE'], compare: 'unsubAll' },
      { on: 'a', send: '*abc\r\n' },
    ], { ref: r1.port, sub: r2.port });

    // Make the two servers differ (a subscriber on one only), and check the report.
    const extra = await RawClient.connect(r2.port);
    await extra.call(['SUBSCRIBE', 'only-on-r2']);
    const res = await diff([
      { on: 'a', send: ['PUBLISH', 'only-on-r2', 'm'] },
      { on: 'a', send: ['PING'] },
    ], { ref: r1.port, sub: r2.port, noThrow: true });
    assert.equal(res.mismatches.length, 1);
    assert.match(res.mismatches[0], /step 0 \[a\] PUBLISH only-on-r2 m/);
    assert.match(res.mismatches[0], /:0\\r\\n/);
    assert.match(res.mismatches[0], /:1\\r\\n/);
    await assert.rejects(diff([{ on: 'a', send: ['PUBLISH', 'only-on-r2', 'm'] }], { ref: r1.port, sub: r2.port }),
      (e) => e instanceof assert.AssertionError && /differ between redis-server and jugglite/.test(e.message));
    extra.close();
  });

  test('comparators', T, () => {
    const B = (s) => Buffer.from(s);
    assert.equal(compare.multiset(B('+a\r\n+b\r\n'), B('+b\r\n+a\r\n')), undefined);
    const u = (x, y) => B(`*3\r\n$11\r\nunsubscribe\r\n$1\r\n${x}\r\n:1\r\n*3\r\n$11\r\nunsubscribe\r\n$1\r\n${y}\r\n:0\r\n`);
    assert.equal(compare.unsubAll(u('x', 'y'), u('y', 'x')), undefined);
    assert.ok(compare.unsubAll(u('x', 'y'), u('y', 'y')));
    assert.ok(compare.unsubAll(u('x', 'y'), B(u('x', 'y').toString().replace(':0', ':2'))));
    assert.ok(compare.multiset(B('+a\r\n+b\r\n'), B('+b\r\n+b\r\n')));
    assert.equal(compare.unorderedArray(B('*2\r\n$1\r\na\r\n$1\r\nb\r\n'), B('*2\r\n$1\r\nb\r\n$1\r\na\r\n')), undefined);
    assert.ok(compare.unorderedArray(B('*2\r\n$1\r\na\r\n$1\r\nb\r\n'), B('*2\r\n$1\r\nb\r\n$1\r\nc\r\n')));
    const h = (v, id) => B(`%3\r\n$6\r\nserver\r\n$${v.length}\r\n${v}\r\n$2\r\nid\r\n:${id}\r\n$5\r\nproto\r\n:3\r\n`);
    assert.equal(compare.hello(h('redis', 5), h('jugglite', 77)), undefined);
    assert.ok(compare.hello(h('redis', 5), B(h('redis', 5).toString().replace(':3', ':2'))));
  });

  test('spawnTracked: redis-cli output and kill', T, async () => {
    const p = spawnTracked('redis-cli', ['-p', String(r1.port), 'subscribe', 'zz']);
    await p.waitStdout('subscribe\nzz\n1\n');
    const c = await RawClient.connect(r1.port);
    assert.equal((await c.call(['PUBLISH', 'zz', 'hey'])).toString(), ':1\r\n');
    await p.waitStdout('message\nzz\nhey\n');
    await p.stop();
    c.close();
  });
});

describe('SSE client against a Node server', () => {
  let srv, port;
  before(async () => {
    srv = http.createServer((req, res) => {
      if (req.url.startsWith('/chunked')) {
        res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache' });
        res.write(': hello\n\n');
        res.write('retry: 1500\nid: 1\ndata: a\ndata: b\n\n');
        res.write('event: custom\r\ndata:x\r\n\r');
        setTimeout(() => { res.write('\nid\ndata: y\r\r'); }, 30);
        setTimeout(() => res.end('data: z\n\n'), 60);
      } else {
        res.writeHead(404, { 'Content-Type': 'text/plain', 'Content-Length': 3 });
        res.end('nop');
      }
    });
    port = await freePort();
    await new Promise((r) => srv.listen(port, '127.0.0.1', r));
  });
  after(() => new Promise((r) => { srv.closeAllConnections?.(); srv.close(r); }));

  test('parses events from a chunked stream (CR, LF, CRLF line ends)', T, async () => {
    const c = await SseClient.open(port, '/chunked');
    assert.equal(c.status, 200);
    assert.equal(c.headers['content-type'], 'text/event-stream');
    assert.equal(c.headers['transfer-encoding'], 'chunked');
    const ev = await c.waitEvents(4);
    assert.deepEqual(ev, [
      { type: 'message', data: 'a\nb', lastEventId: '1' },
      { type: 'custom', data: 'x', lastEventId: '1' },
      { type: 'message', data: 'y', lastEventId: '' },
      { type: 'message', data: 'z', lastEventId: '' },
    ]);
    assert.deepEqual(c.comments, [' hello']);
    assert.equal(c.parser.retry, 1500);
    await c.waitEnd();
    assert.equal(c.dechunker.done, true);
    c.close();
  });

  test('parseSseStream edge cases', T, () => {
    const p = parseSseStream('\ufeffdata\n\ndata:  two spaces\n\nid: a\0b\ndata: q\n\nevent: e\n\ndata: last-without-blank-line');
    assert.deepEqual(p.events, [
      { type: 'message', data: '', lastEventId: '' },
      { type: 'message', data: ' two spaces', lastEventId: '' },
      { type: 'message', data: 'q', lastEventId: '' },
    ]);
  });

  test('httpRequest', T, async () => {
    const r = await httpRequest(port, { path: '/missing' });
    assert.equal(r.status, 404);
    assert.equal(r.body.toString(), 'nop');
  });

  test('npm eventsource client works here', T, async () => {
    const { EventSource } = await import('eventsource');
    const es = new EventSource(`http://127.0.0.1:${port}/chunked`);
    try {
      const got = await new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error('no event')), 5000);
        es.onmessage = (e) => { clearTimeout(t); resolve(e); };
      });
      assert.equal(got.data, 'a\nb');
      assert.equal(got.lastEventId, '1');
    } finally { es.close(); }
  });

  test('headless chromium via playwright-core receives events', { timeout: 60000, skip: chromiumPath() ? false : 'chromium not installed' }, async () => {
    const browser = await launchChromium();
    try {
      const page = await browser.newPage();
      await page.goto(`http://127.0.0.1:${port}/missing`).catch(() => {});
      const data = await page.evaluate((url) => new Promise((resolve, reject) => {
        const es = new EventSource(url);
        setTimeout(() => reject(new Error('no event in browser')), 10000);
        es.onmessage = (e) => { es.close(); resolve(e.data); };
      }), `http://127.0.0.1:${port}/chunked`);
      assert.equal(data, 'a\nb');
    } finally { await browser.close(); }
  });
});

test('freePort gives a bindable loopback port', T, async () => {
  const p = await freePort();
  const s = net.createServer();
  await new Promise((r, j) => { s.once('error', j); s.listen(p, '127.0.0.1', r); });
  await new Promise((r) => s.close(r));
  await sleep(1);
});

describe('lib/tls.mjs makeCerts', () => {
  test('the CA verifies the server and client certificates; another CA does not', T, async () => {
    const tls = await import('node:tls');
    const fs = await import('node:fs');
    const os = await import('node:os');
    const path = await import('node:path');
    const { makeCerts } = await import('./lib/tls.mjs');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'jl-tls-'));
    try {
      const c = makeCerts(path.join(dir, 'a'), { serial: 4242 });
      const other = makeCerts(path.join(dir, 'b'));
      const read = (f) => fs.readFileSync(f);
      const server = tls.createServer({ cert: read(c.cert), key: read(c.key), ca: read(c.ca),
        requestCert: true, rejectUnauthorized: true }, (s) => s.end('hi'));
      await new Promise((r) => server.listen(0, '127.0.0.1', r));
      const port = server.address().port;
      const connect = (opts) => new Promise((resolve) => {
        const s = tls.connect({ port, host: '127.0.0.1', servername: 'localhost', ...opts });
        s.on('secureConnect', () => {
          resolve({ ok: true, serial: s.getPeerCertificate().serialNumber });
          s.destroy();
        });
        s.on('error', (e) => { resolve({ ok: false, error: e.code || e.message }); s.destroy(); });
      });
      const good = await connect({ ca: read(c.ca), cert: read(c.clientCert), key: read(c.clientKey) });
      assert.equal(good.ok, true, JSON.stringify(good));
      assert.equal(parseInt(good.serial, 16), 4242);
      const wrongCa = await connect({ ca: read(other.ca), cert: read(c.clientCert), key: read(c.clientKey) });
      assert.equal(wrongCa.ok, false);
      assert.match(wrongCa.error, /UNABLE_TO_VERIFY|SELF_SIGNED|unable to verify/i);
      await new Promise((r) => server.close(r));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
