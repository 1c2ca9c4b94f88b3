// --auth-url (issue 12, item 4): jugglite asks the app whether each new
// stream may open, without blocking its loop. A small real HTTP app started
// by the test answers allow (with a rule, or without), deny, slowly, or is
// not there at all; the browser side is a raw SSE client.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import {
  startJugglite, SseClient, RawClient, httpRequest, decodeAll, sleep, cleanupAll, until, freePort,
} from './lib/harness.mjs';

after(cleanupAll);
const T = { timeout: 30000 };

/** The app: answers with whatever `decide(req, body)` returns: {status, body, delayMs}. */
async function startApp(decide) {
  const seen = [];
  const srv = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d) => { body += d; });
    req.on('end', async () => {
      seen.push({ method: req.method, url: req.url, headers: req.headers, body: body ? JSON.parse(body) : null });
      const a = decide(req, body);
      if (a.delayMs) await sleep(a.delayMs);
      if (res.destroyed) return;
      res.writeHead(a.status, { 'Content-Type': 'application/json' });
      res.end(a.body ?? '');
    });
  });
  await new Promise((r) => srv.listen(0, '127.0.0.1', r));
  return { seen, port: srv.address().port, close: () => new Promise((r) => srv.close(r)) };
}

const registered = (s) => s.body.toString('latin1').split('\n')[0];

describe('--auth-url', () => {
  let app, jl;
  const rules = { status: 200, body: JSON.stringify({ subscribe: ['chat:*', 'user:42:*'] }) };
  let answer = rules;
  before(async () => {
    app = await startApp(() => answer);
    jl = await startJugglite({ args: ['--auth-url', `http://127.0.0.1:${app.port}/jugglite-auth`, '--auth-timeout', '1', '--auth-cache', '0', '--allow-patterns'] });
  });
  after(async () => { await jl?.stop(); await app?.close(); });

  test('allowed: only the names the app\'s rule allows; the app sees the cookie, the authorization and the names', T, async () => {
    answer = rules;
    const s = await SseClient.open(jl.ssePort, '/stream?channel=chat:a,secret,user:42:inbox&pattern=chat:*', {
      headers: { Cookie: 'session=abc', Authorization: 'Bearer xyz' },
    });
    assert.equal(s.status, 200);
    await s.waitBody((t) => t.includes('\n'));
    assert.equal(registered(s), ': registered to channels: chat:a, user:42:inbox, chat:*');
    const q = app.seen.at(-1);
    assert.equal(q.method, 'POST');
    assert.equal(q.url, '/jugglite-auth');
    assert.equal(q.headers.cookie, 'session=abc');
    assert.equal(q.headers.authorization, 'Bearer xyz');
    assert.equal(q.headers['x-forwarded-for'], '127.0.0.1');
    assert.equal(q.headers['x-original-uri'], '/stream?channel=chat:a,secret,user:42:inbox&pattern=chat:*');
    assert.deepEqual(q.body, { channels: ['chat:a', 'secret', 'user:42:inbox'], patterns: ['chat:*'] });
    const pub = await RawClient.connect(jl.respPort);
    assert.equal(decodeAll(await pub.call(['PUBLISH', 'secret', 'x']))[0], 0, 'not subscribed to what the app did not allow');
    assert.equal(decodeAll(await pub.call(['PUBLISH', 'chat:a', 'hi']))[0], 1, 'channel and pattern: one stream, counted once');
    assert.equal((await s.waitEvents(1, 5000))[0].data, 'hi');
    pub.close();
    s.close();
  });

  test('a 2xx without a rule allows every name asked for', T, async () => {
    answer = { status: 204 };
    const s = await SseClient.open(jl.ssePort, '/stream?channel=a,b');
    await s.waitBody((t) => t.includes('\n'));
    assert.equal(registered(s), ': registered to channels: a, b');
    s.close();
  });

  test('refused (401 or 403): the browser gets 403', T, async () => {
    for (const status of [401, 403]) {
      answer = { status };
      const r = await httpRequest(jl.ssePort, { path: '/stream?channel=a' });
      assert.equal(r.status, 403);
      assert.match(r.body.toString(), /refused/);
    }
  });

  test('slow: shed with retry: at --auth-timeout; the loop serves others meanwhile', T, async () => {
    answer = { status: 200, body: '{}', delayMs: 3000 };
    const s = await SseClient.open(jl.ssePort, '/stream?channel=a');
    // While the app thinks, the node answers everyone else.
    const c = await RawClient.connect(jl.respPort);
    assert.equal(decodeAll(await c.call(['PING']))[0], 'PONG');
    c.close();
    assert.equal((await httpRequest(jl.ssePort, { path: '/health' })).status, 200);
    await s.waitClose(5000);
    assert.equal(s.status, 200);
    assert.match(s.body.toString('latin1'), /^retry: \d+\n\n$/);
    assert.match(jl.output(), /--auth-url: Timeout was reached/);
  });

  test('a 5xx or an unreadable 2xx: shed, never allowed', T, async () => {
    for (const a of [{ status: 500 }, { status: 200, body: 'not json' }, { status: 200, body: '{"subscribe":"chat:*"}' }]) {
      answer = a;
      const s = await SseClient.open(jl.ssePort, '/stream?channel=a');
      await s.waitClose(5000);
      assert.match(s.body.toString('latin1'), /^retry: \d+\n\n$/, JSON.stringify(a));
    }
  });

  test('a browser that leaves while the app thinks: nothing breaks', T, async () => {
    answer = { status: 200, body: '{}', delayMs: 300 };
    const before = app.seen.length;
    const s = await SseClient.open(jl.ssePort, '/stream?channel=a', { waitHead: false });
    await until(() => app.seen.length > before, 'the question reached the app');
    s.close();
    await sleep(500);
    assert.equal((await httpRequest(jl.ssePort, { path: '/health' })).status, 200);
  });
});

test('--auth-url down (nobody listens) sheds; --auth-cache asks once per browser', T, async () => {
  const dead = await freePort();
  const jl = await startJugglite({ args: ['--auth-url', `http://127.0.0.1:${dead}/auth`] });
  try {
    const s = await SseClient.open(jl.ssePort, '/stream?channel=a');
    await s.waitClose(5000);
    assert.match(s.body.toString('latin1'), /^retry: \d+\n\n$/);
  } finally { await jl.stop(); }

  const app = await startApp(() => ({ status: 200, body: '{"subscribe":["a"]}' }));
  const cached = await startJugglite({ args: ['--auth-url', `http://127.0.0.1:${app.port}/`, '--auth-cache', '60'] });
  try {
    for (const cookie of ['u=1', 'u=1', 'u=1', 'u=2']) {
      const s = await SseClient.open(cached.ssePort, '/stream?channel=a,b', { headers: { Cookie: cookie } });
      await s.waitBody((t) => t.includes('\n'));
      assert.equal(registered(s), ': registered to channels: a');
      s.close();
    }
    assert.equal(app.seen.length, 2, 'one question per distinct cookie');
  } finally { await cached.stop(); await app.close(); }
});
