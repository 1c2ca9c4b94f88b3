// The HTTP side apart from stream framing: publish (token, limits, 100-continue,
// chunked), /health, the built-in page, CORS and preflight, error statuses
// (400/404/405/411/413/417/431), keep-alive and pipelining, head and idle
// timeouts (slowloris), and shedding over --max-conns.

import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import {
  startJugglite, RawClient, SseClient, parseSseStream, sleep, decodeAll,
} from './lib/harness.mjs';

const T = { timeout: 30000 };

async function command(port, ...args) {
  const c = await RawClient.connect(port);
  try { return decodeAll(await c.call(args))[0]; } finally { c.close(); }
}

/** curl with a hard timeout → {code, stdout, stderr} (never rejects). */
function curl(args, timeoutMs = 10000) {
  return new Promise((resolve) => {
    execFile('curl', ['-sS', '--max-time', String(timeoutMs / 1000), ...args],
      { timeout: timeoutMs + 2000, encoding: 'latin1', maxBuffer: 16 << 20 },
      (err, stdout, stderr) => resolve({ code: err ? (err.code ?? 1) : 0, stdout, stderr }));
  });
}

/** Splits curl -i output into {status, headers (lowercase), body}; skips 100 Continue. */
function parseCurl(out) {
  let rest = out;
  for (;;) {
    const i = rest.indexOf('\r\n\r\n');
    const headText = rest.slice(0, i);
    rest = rest.slice(i + 4);
    const [statusLine, ...lines] = headText.split('\r\n');
    const status = Number(statusLine.split(' ')[1]);
    if (status === 100) continue;
    const headers = {};
    for (const l of lines) { const c = l.indexOf(':'); headers[l.slice(0, c).toLowerCase()] = l.slice(c + 1).trim(); }
    return { status, headers, body: rest };
  }
}

const get = (port, path, headers = {}) => request(port, { path, headers });

/**
 * One request with an optional body (lib's httpRequest does not send
 * opts.body). Waits for the end of the body, and for the connection to close
 * when the response says Connection: close. → {status, headers, body, closed}
 */
async function request(port, { method = 'GET', path = '/', headers = {}, body, timeout = 5000 } = {}) {
  const h = { Host: `127.0.0.1:${port}`, Connection: 'close', ...headers };
  const b = body === undefined ? null : Buffer.from(body);
  if (b && !Object.keys(h).some((k) => /^(content-length|transfer-encoding)$/i.test(k))) h['Content-Length'] = b.length;
  const head = `${method} ${path} HTTP/1.1\r\n` +
    Object.entries(h).filter(([, v]) => v !== null && v !== undefined).map(([k, v]) => `${k}: ${v}\r\n`).join('') + '\r\n';
  const c = await SseClient.open(port, path, { request: b ? Buffer.concat([Buffer.from(head, 'latin1'), b]) : head, timeout });
  await c.waitEnd(timeout);
  if (/close/i.test(c.headers.connection || '')) await c.waitClose(timeout);
  const res = { status: c.status, headers: c.headers, rawHead: c.rawHead, body: c.body, closed: c.closed };
  c.close();
  return res;
}

function noCors(res) {
  for (const k of Object.keys(res.headers)) assert.ok(!k.startsWith('access-control-'), `unexpected ${k}`);
}

describe('routes with defaults', () => {
  let srv;
  before(async () => { srv = await startJugglite({ args: ['--path', '/events'] }); });
  after(async () => { assert.equal((await srv?.stop())?.code, 0); });

  test('/health', T, async () => {
    const r = await get(srv.ssePort, '/health');
    assert.equal(r.status, 200);
    assert.equal(r.headers['content-type'], 'application/json');
    assert.equal(Number(r.headers['content-length']), r.body.length);
    const h = JSON.parse(r.body.toString());
    assert.equal(h.status, 'ok');
    assert.equal(h.upstream, 'none');
    assert.equal(h.publish, false);
    assert.ok(h.connections >= 1);
    assert.equal(h.sse_streams, 0);
    const s = await SseClient.open(srv.ssePort, '/events?channel=h');
    await s.waitBody('\n');
    assert.equal(JSON.parse((await get(srv.ssePort, '/health')).body.toString()).sse_streams, 1);
    s.close();
    noCors(r);
  });

  test('the built-in page, with the configured stream path', T, async () => {
    const r = await get(srv.ssePort, '/');
    assert.equal(r.status, 200);
    assert.equal(r.headers['content-type'], 'text/html; charset=utf-8');
    const html = r.body.toString();
    assert.equal(Number(r.headers['content-length']), r.body.length);
    for (const id of ['channel', 'subscribe', 'log', 'state', 'payload', 'publish', 'token']) {
      assert.ok(html.includes(`id="${id}"`), `#${id}`);
    }
    assert.ok(html.includes('"stream":"/events"'));
    assert.ok(html.includes('"publish":"/publish"'));
    assert.ok(!/(src|href)="https?:/.test(html), 'no external assets');
    const head = await request(srv.ssePort, { method: 'HEAD', path: '/' });
    assert.equal(head.status, 200);
    assert.equal(head.headers['content-length'], r.headers['content-length']);
    assert.equal(head.body.length, 0);
  });

  test('the stream lives at --path only', T, async () => {
    const s = await SseClient.open(srv.ssePort, '/events?channel=p');
    assert.equal(s.status, 200);
    s.close();
    assert.equal((await get(srv.ssePort, '/stream?channel=p')).status, 404);
    assert.equal((await get(srv.ssePort, '/events/')).status, 404);
    // the path is matched decoded
    const d = await SseClient.open(srv.ssePort, '/ev%65nts?channel=p');
    assert.equal(d.status, 200);
    d.close();
  });

  test('publish route does not exist without --publish-token', T, async () => {
    const r = await request(srv.ssePort, { method: 'POST', path: '/publish?channel=a', body: 'x', headers: { Authorization: 'Bearer x' } });
    assert.equal(r.status, 404);
  });

  test('404, 405 with Allow, 400 for garbage', T, async () => {
    const nf = await get(srv.ssePort, '/nope');
    assert.equal(nf.status, 404);
    assert.equal(nf.headers['content-type'], 'text/plain; charset=utf-8');
    const m1 = await request(srv.ssePort, { method: 'POST', path: '/events', body: '' });
    assert.equal(m1.status, 405);
    assert.equal(m1.headers.allow, 'GET, OPTIONS');
    const m2 = await request(srv.ssePort, { method: 'DELETE', path: '/health' });
    assert.equal(m2.status, 405);
    assert.equal(m2.headers.allow, 'GET, HEAD, OPTIONS');
    for (const raw of ['GARBAGE\r\n\r\n', 'GET /health HTTP/9\r\n\r\n', 'GET /health HTTP/1.1\r\nBad Header\r\n\r\n']) {
      const c = await RawClient.connect(srv.ssePort);
      await c.send(raw);
      const out = (await c.readUntil(() => (c.closed ? true : undefined), 5000, 'close')).toString();
      assert.match(out, /^HTTP\/1\.1 400 Bad Request\r\n/, JSON.stringify(raw));
      assert.match(out, /\r\nConnection: close\r\n/);
    }
  });

  test('431 for a head over --max-header-size (16kb default)', T, async () => {
    const r = await request(srv.ssePort, { path: '/health', headers: { 'X-Big': 'a'.repeat(20000) } });
    assert.equal(r.status, 431);
    assert.ok(r.closed);
    const u = await request(srv.ssePort, { path: '/events?channel=' + 'b'.repeat(20000) });
    assert.equal(u.status, 431);
  });

  test('417 for an unknown Expect', T, async () => {
    const r = await request(srv.ssePort, { path: '/health', headers: { Expect: 'something' } });
    assert.equal(r.status, 417);
  });

  test('keep-alive: pipelined requests answered in order; Connection: close honoured', T, async () => {
    const c = await RawClient.connect(srv.ssePort);
    await c.send('GET /health HTTP/1.1\r\nHost: x\r\n\r\nGET /nope HTTP/1.1\r\nHost: x\r\n\r\nHEAD / HTTP/1.1\r\nHost: x\r\n\r\n');
    const out = (await c.readQuiet({ quiet: 200, max: 3000 })).toString();
    const statuses = [...out.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((m) => Number(m[1]));
    assert.deepEqual(statuses, [200, 404, 200]);
    assert.ok(!out.includes('Connection: close'));
    assert.equal(c.closed, false);
    await c.send('GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    const last = (await c.readUntil(() => (c.closed ? true : undefined), 3000, 'close')).toString();
    assert.match(last, /^HTTP\/1\.1 200 OK\r\n[^]*Connection: close\r\n/);
  });

  test('HTTP/1.0: close unless keep-alive asked for', T, async () => {
    const c = await RawClient.connect(srv.ssePort);
    await c.send('GET /health HTTP/1.0\r\n\r\n');
    const out = (await c.readUntil(() => (c.closed ? true : undefined), 3000, 'close')).toString();
    assert.match(out, /^HTTP\/1\.1 200 OK\r\n/);
    const k = await RawClient.connect(srv.ssePort);
    await k.send('GET /health HTTP/1.0\r\nConnection: keep-alive\r\n\r\n');
    const o2 = (await k.readQuiet({ quiet: 200 })).toString();
    assert.match(o2, /\r\nConnection: keep-alive\r\n/);
    assert.equal(k.closed, false);
    k.close();
  });

  test('curl works against /health and the page', T, async () => {
    const r = await curl(['-i', `http://127.0.0.1:${srv.ssePort}/health`]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(parseCurl(r.stdout).status, 200);
  });
});

describe('HTTP publish', () => {
  let srv;
  const TOKEN = 's3cr3t-token';
  before(async () => {
    srv = await startJugglite({ args: ['--publish-token', TOKEN, '--max-message-size', '1000', '--namespace', 'ns:'] });
  });
  after(async () => { await srv?.stop(); });

  const url = (q) => `http://127.0.0.1:${srv.ssePort}/publish${q}`;

  test('good token publishes (namespaced) and reports receivers', T, async () => {
    const s = await SseClient.open(srv.ssePort, '/stream?channel=news');
    await s.waitBody('\n');
    const r = await curl(['-i', '-X', 'POST', '-H', `Authorization: Bearer ${TOKEN}`, '--data-binary', 'hello\nworld', url('?channel=news')]);
    const p = parseCurl(r.stdout);
    assert.equal(p.status, 200);
    assert.equal(p.headers['content-type'], 'application/json');
    assert.deepEqual(JSON.parse(p.body), { receivers: 1 });
    assert.equal((await s.waitEvents(1))[0].data, 'hello\nworld');
    const sub = await RawClient.connect(srv.respPort);
    await sub.send(['SUBSCRIBE', 'ns:news']);
    await sub.readFrame();
    const r2 = await request(srv.ssePort, { method: 'POST', path: '/publish?channel=news', body: '', headers: { Authorization: `bearer ${TOKEN}` } });
    assert.deepEqual(JSON.parse(r2.body.toString()), { receivers: 2 });
    assert.deepEqual(decodeAll((await sub.readFrame()).raw)[0], ['message', 'ns:news', '']);
    const info = await command(srv.respPort, 'INFO', 'jugglite');
    assert.match(info, /http_publishes:2\r\n/);
    s.close();
    sub.close();
  });

  test('401 with WWW-Authenticate for a missing or wrong token; keep-alive survives', T, async () => {
    for (const auth of [null, 'Bearer wrong', `Bearer ${TOKEN}x`, `Basic ${TOKEN}`, 'Bearer ']) {
      const r = await request(srv.ssePort, { method: 'POST', path: '/publish?channel=a', body: 'x', headers: { Authorization: auth } });
      assert.equal(r.status, 401, String(auth));
      assert.equal(r.headers['www-authenticate'], 'Bearer');
    }
    const c = await RawClient.connect(srv.ssePort);
    await c.send('POST /publish?channel=a HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabcGET /health HTTP/1.1\r\nHost: x\r\n\r\n');
    const out = (await c.readQuiet({ quiet: 200 })).toString();
    assert.deepEqual([...out.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((m) => m[1]), ['401', '200']);
    c.close();
  });

  test('400 without a channel; 413 over --max-message-size; 411 without a length', T, async () => {
    const auth = { Authorization: `Bearer ${TOKEN}` };
    assert.equal((await request(srv.ssePort, { method: 'POST', path: '/publish', body: 'x', headers: auth })).status, 400);
    assert.equal((await request(srv.ssePort, { method: 'POST', path: '/publish?channel=', body: 'x', headers: auth })).status, 400);
    const big = await request(srv.ssePort, { method: 'POST', path: '/publish?channel=a', body: 'y'.repeat(1001), headers: auth });
    assert.equal(big.status, 413);
    assert.ok(big.closed);
    const exact = await request(srv.ssePort, { method: 'POST', path: '/publish?channel=a', body: 'y'.repeat(1000), headers: auth });
    assert.equal(exact.status, 200);
    const c = await RawClient.connect(srv.ssePort);
    await c.send(`POST /publish?channel=a HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\n\r\n`);
    assert.match((await c.readUntilString('\r\n\r\n')).toString(), /^HTTP\/1\.1 411 Length Required\r\n/);
    c.close();
  });

  test('chunked bodies, also over the limit', T, async () => {
    const s = await SseClient.open(srv.ssePort, '/stream?channel=ch');
    await s.waitBody('\n');
    const r = await curl(['-i', '-X', 'POST', '-H', `Authorization: Bearer ${TOKEN}`, '-H', 'Transfer-Encoding: chunked',
      '--data-binary', 'chunked body', url('?channel=ch')]);
    assert.equal(parseCurl(r.stdout).status, 200);
    assert.equal((await s.waitEvents(1))[0].data, 'chunked body');
    const c = await RawClient.connect(srv.ssePort);
    const chunk = 'z'.repeat(600);
    await c.send(`POST /publish?channel=ch HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\nTransfer-Encoding: chunked\r\n\r\n` +
      `258\r\n${chunk}\r\n258\r\n${chunk}\r\n0\r\n\r\n`);
    const out = (await c.readUntil(() => (c.closed ? true : undefined), 3000, 'close')).toString();
    assert.match(out, /^HTTP\/1\.1 413 /);
    assert.equal((await s.eventsWithin(200)).length, 0);
    s.close();
  });

  test('Expect: 100-continue: 100 then 200 when accepted; the final status at once when refused', T, async () => {
    const r = await curl(['-i', '-X', 'POST', '-H', `Authorization: Bearer ${TOKEN}`, '-H', 'Expect: 100-continue',
      '--data-binary', 'after continue', url('?channel=e')]);
    assert.match(r.stdout, /^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 200 OK\r\n/);
    const c = await RawClient.connect(srv.ssePort);
    await c.send(`POST /publish?channel=e HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer nope\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n`);
    const out = (await c.readUntil(() => (c.closed ? true : undefined), 3000, 'close')).toString();
    assert.match(out, /^HTTP\/1\.1 401 Unauthorized\r\n/);
    assert.ok(!out.includes('100 Continue'));
    const big = await RawClient.connect(srv.ssePort);
    await big.send(`POST /publish?channel=e HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\nContent-Length: 5000\r\nExpect: 100-continue\r\n\r\n`);
    const o2 = (await big.readUntil(() => (big.closed ? true : undefined), 3000, 'close')).toString();
    assert.match(o2, /^HTTP\/1\.1 413 /);
  });

  test('GET on the publish path is 405; health says publish:true', T, async () => {
    const r = await get(srv.ssePort, '/publish?channel=a');
    assert.equal(r.status, 405);
    assert.equal(r.headers.allow, 'POST, OPTIONS');
    assert.equal(JSON.parse((await get(srv.ssePort, '/health')).body.toString()).publish, true);
  });
});

describe('CORS', () => {
  test('a listed origin is echoed with credentials and Vary; others get nothing', T, async () => {
    const srv = await startJugglite({ args: ['--cors-origin', 'https://a.example', '--cors-origin', 'https://b.example', '--publish-token', 't'] });
    try {
      const s = await SseClient.open(srv.ssePort, '/stream?channel=c', { headers: { Origin: 'https://b.example' } });
      assert.equal(s.headers['access-control-allow-origin'], 'https://b.example');
      assert.equal(s.headers['access-control-allow-credentials'], 'true');
      assert.equal(s.headers.vary, 'Origin');
      assert.ok(s.rawHead.startsWith('HTTP/1.1 200 OK\r\nContent-Type: text/event-stream;charset=utf-8\r\nCache-Control: no-cache\r\nX-Accel-Buffering: no\r\nConnection: close\r\n'));
      s.close();
      const other = await get(srv.ssePort, '/health', { Origin: 'https://evil.example' });
      assert.equal(other.headers['access-control-allow-origin'], undefined);
      assert.equal(other.headers.vary, 'Origin');
      const pre = await request(srv.ssePort, {
        method: 'OPTIONS', path: '/publish?channel=x',
        headers: { Origin: 'https://a.example', 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'authorization' },
      });
      assert.equal(pre.status, 204);
      assert.equal(pre.headers['content-length'], undefined);
      assert.equal(pre.headers['access-control-allow-origin'], 'https://a.example');
      assert.equal(pre.headers['access-control-allow-methods'], 'GET, POST, OPTIONS');
      assert.equal(pre.headers['access-control-allow-headers'], 'Last-Event-ID, Authorization, Content-Type, X-Requested-With, Cache-Control');
      assert.match(pre.headers['access-control-max-age'], /^\d+$/);
      const pre2 = await request(srv.ssePort, { method: 'OPTIONS', path: '/stream', headers: { Origin: 'https://a.example', 'Access-Control-Request-Method': 'GET', 'Access-Control-Request-Headers': 'last-event-id' } });
      assert.equal(pre2.status, 204);
      assert.match(pre2.headers['access-control-allow-headers'], /Last-Event-ID/);
    } finally { await srv.stop(); }
  });

  test("'*' allows any origin (no credentials)", T, async () => {
    const srv = await startJugglite({ args: ['--cors-origin', '*'] });
    try {
      const r = await get(srv.ssePort, '/health', { Origin: 'https://x.example' });
      assert.equal(r.headers['access-control-allow-origin'], '*');
      assert.equal(r.headers['access-control-allow-credentials'], undefined);
      const s = await SseClient.open(srv.ssePort, '/stream', { headers: { Origin: 'https://y.example' } });
      assert.equal(s.headers['access-control-allow-origin'], '*');
      s.close();
    } finally { await srv.stop(); }
  });

  test('no CORS headers by default, even for a preflight', T, async () => {
    const srv = await startJugglite();
    try {
      const s = await SseClient.open(srv.ssePort, '/stream', { headers: { Origin: 'https://y.example' } });
      noCors(s);
      s.close();
      const pre = await request(srv.ssePort, { method: 'OPTIONS', path: '/stream', headers: { Origin: 'https://y.example', 'Access-Control-Request-Method': 'GET' } });
      assert.equal(pre.status, 204);
      assert.equal(pre.headers.allow, 'GET, OPTIONS');
      noCors(pre);
    } finally { await srv.stop(); }
  });
});

describe('timeouts', () => {
  let srv;
  before(async () => { srv = await startJugglite({ args: ['--head-timeout', '0.5', '--publish-token', 't'] }); });
  after(async () => { await srv?.stop(); });

  test('slowloris: a head trickled byte by byte is cut off', T, async () => {
    const c = await RawClient.connect(srv.ssePort);
    const t0 = Date.now();
    await c.send('GET /stream?channel=slow HTTP/1.1\r\nHost: x\r\n');
    const trickle = (async () => {
      for (let i = 0; i < 60 && !c.closed; i++) {
        await sleep(100);
        try { await c.send('X'); } catch { break; }
      }
    })();
    await c.waitClose(4000);
    const dt = Date.now() - t0;
    assert.ok(dt >= 450 && dt < 3000, `closed after ${dt} ms`);
    assert.equal(c.buf.length, 0, 'nothing was answered');
    await trickle;
  });

  test('an idle kept-alive connection is closed after --head-timeout', T, async () => {
    const c = await RawClient.connect(srv.ssePort);
    await c.send('GET /health HTTP/1.1\r\nHost: x\r\n\r\n');
    await c.readUntilString('}');
    const t0 = Date.now();
    await c.waitClose(4000);
    const dt = Date.now() - t0;
    assert.ok(dt >= 400 && dt < 3000, `closed after ${dt} ms`);
  });

  test('a connection that never sends anything is closed too', T, async () => {
    const c = await RawClient.connect(srv.ssePort);
    await c.waitClose(4000);
  });

  test('a trickled body that is not wanted is bounded like the head', T, async () => {
    const c = await RawClient.connect(srv.ssePort);
    await c.send('GET /health HTTP/1.1\r\nHost: x\r\nContent-Length: 50000\r\n\r\n');
    const t0 = Date.now();
    const trickle = (async () => {
      for (let i = 0; i < 60 && !c.closed; i++) { await sleep(100); try { await c.send('b'); } catch { break; } }
    })();
    await c.waitClose(4000);
    assert.ok(Date.now() - t0 < 3000);
    await trickle;
  });

  test('an accepted publish body arriving slowly but steadily is not cut', T, async () => {
    const c = await RawClient.connect(srv.ssePort);
    const body = 'slow-body-'.repeat(2);   // 20 bytes over ~2 s
    await c.send(`POST /publish?channel=s HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer t\r\nContent-Length: ${body.length}\r\n\r\n`);
    for (const ch of body) { await sleep(100); await c.send(ch); }
    const out = (await c.readUntilString('}', 3000)).toString();
    assert.match(out, /^HTTP\/1\.1 200 OK\r\n[^]*\{"receivers":0\}$/);
    c.close();
  });

  test('streams are not subject to the head timeout', T, async () => {
    const s = await SseClient.open(srv.ssePort, '/stream?channel=long');
    await sleep(2200);
    assert.equal(s.closed, false);
    assert.equal(await command(srv.respPort, 'PUBLISH', 'long', 'x'), 1);
    await s.waitEvents(1);
    s.close();
  });
});

describe('over --max-conns', () => {
  let srv, held;
  before(async () => {
    srv = await startJugglite({ args: ['--max-conns', '2', '--retry', '2000'] });
    held = [await SseClient.open(srv.ssePort, '/stream?channel=a'), await SseClient.open(srv.ssePort, '/stream?channel=b')];
    await Promise.all(held.map((h) => h.waitBody('\n')));
  });
  after(async () => { for (const h of held || []) h.close(); await srv?.stop(); });

  test('an SSE request gets 200 + retry: (jittered) and is closed', T, async () => {
    const retries = [];
    for (let i = 0; i < 5; i++) {
      const s = await SseClient.open(srv.ssePort, '/stream?channel=a');
      await s.waitClose(3000);
      assert.equal(s.status, 200);
      assert.equal(s.headers['content-type'], 'text/event-stream;charset=utf-8');
      const p = parseSseStream(s.body.toString());
      assert.equal(p.events.length, 0);
      assert.ok(p.retry >= 1600 && p.retry <= 2400, `retry ${p.retry}`);
      assert.match(s.body.toString(), /^retry: \d+\n\n$/);
      retries.push(p.retry);
    }
    assert.ok(new Set(retries).size > 1, `jittered: ${retries}`);
    // It was never subscribed.
    const h = await SseClient.open(srv.ssePort, '/health');
    assert.equal(h.status, 503);
    h.close();
  });

  test('any other request gets 503 with Retry-After', T, async () => {
    const r = await get(srv.ssePort, '/health');
    assert.equal(r.status, 503);
    assert.equal(r.headers['retry-after'], '2');
    assert.ok(r.closed);
  });

  test('RESP gets -ERR max number of clients reached', T, async () => {
    const c = await RawClient.connect(srv.respPort);
    const out = (await c.readUntil(() => (c.closed ? true : undefined), 3000, 'close')).toString();
    assert.equal(out, '-ERR max number of clients reached\r\n');
  });

  test('the held streams still work', T, async () => {
    held[0].sock.write('');
    // Publishing needs a RESP connection: free a slot first.
    held[1].close();
    let n = -1;
    for (let i = 0; i < 50 && n !== 1; i++) {
      try { n = await command(srv.respPort, 'PUBLISH', 'a', 'still'); } catch { n = -1; }
      if (typeof n !== 'number') n = -1;
      if (n !== 1) await sleep(20);
    }
    assert.equal(n, 1);
    assert.equal((await held[0].waitEvents(1))[0].data, 'still');
  });
});
