// lifecycle.test.mjs -- --lifecycle-events against the real binary: a RESP
// client with PSUBSCRIBE __jugglite__:* sees each SSE stream connect (who,
// which channels, which protocol) and disconnect with the reason, each
// reason caused for real:
//   closed (the client went away, over HTTP/1.1 and HTTP/2), killed (CLIENT
//   KILL USER), output limit (a reader that stopped), token expired (a token
//   with a 2 s exp), shutdown (SIGTERM);
// bridged through a real redis-server, an app on node A sees node B's
// events; nobody publishes to the reserved prefix, events on or off; a
// RESP subscriber's connect, each subscription change and its disconnect
// (killed, closed, protocol error, shutdown).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import http2 from 'node:http2';
import net from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startJugglite, startRedis, RawClient, SseClient, decodeAll, until, sleep, cleanupAll } from './lib/harness.mjs';
import { watchLifecycle } from './lib/lifecycle.mjs';

after(cleanupAll);
const dir = mkdtempSync(path.join(os.tmpdir(), 'jl-lifecycle-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const T = { timeout: 60000 };

const watcher = (port) => watchLifecycle(port);

const disconnects = (w) => w.got.filter((e) => e.channel === '__jugglite__:disconnect');

test('connect and disconnect with the reason: closed (HTTP/1.1 and HTTP/2), killed, output limit, token expired, shutdown', T, async () => {
  const key = crypto.randomBytes(32).toString('hex');
  writeFileSync(path.join(dir, 'hs.key'), `${key}\n`);
  const b64 = (b) => Buffer.from(b).toString('base64url');
  const token = (sub, exp) => {
    const data = `${b64(JSON.stringify({ alg: 'HS256', typ: 'JWT' }))}.${b64(JSON.stringify({ sub, exp, jugglite: { subscribe: ['*'] } }))}`;
    return `${data}.${b64(crypto.createHmac('sha256', key).update(data).digest())}`;
  };
  const srv = await startJugglite({ args: ['--lifecycle-events', '--h2c', '--token-key', path.join(dir, 'hs.key'),
    '--token-param', 'token', '--obuf-hard', '64kb', '--obuf-soft', '0'] });
  const w = await watcher(srv.respPort);
  try {
    // closed, HTTP/1.1
    const a = await SseClient.open(srv.ssePort, '/stream?channel=a,b');
    await a.waitComments(1);
    await until(() => w.got.some((e) => e.channel === '__jugglite__:connect'), 'the connect event');
    const conn = w.got.find((e) => e.channel === '__jugglite__:connect');
    assert.deepEqual({ ...conn, client_id: 0, node: '', peer: '' }, { channel: '__jugglite__:connect', node: '', client_id: 0, peer: '',
      user: null, channels: ['a', 'b'], protocol: 'http/1.1' });
    assert.equal(conn.peer, `${a.sock.localAddress}:${a.sock.localPort}`);
    assert.match(conn.node, /^[0-9a-f]{40}$/);
    a.close();
    await until(() => disconnects(w).length === 1, 'the disconnect');
    const d = disconnects(w)[0];
    assert.equal(d.client_id, conn.client_id);
    assert.equal(d.reason, 'closed');
    assert.equal(d.detail, 'closed by peer');
    assert.deepEqual(d.channels, ['a', 'b']);
    assert.ok(d.duration >= 0);

    // closed, HTTP/2 (a tab closing: RST_STREAM CANCEL)
    const session = http2.connect(`http://127.0.0.1:${srv.ssePort}`);
    const req = session.request({ ':path': '/stream?channel=h' });
    await new Promise((r) => req.once('data', r));
    await until(() => w.got.some((e) => e.channel === '__jugglite__:connect' && e.protocol === 'h2'), 'the h2 connect');
    req.close(http2.constants.NGHTTP2_CANCEL);
    await until(() => disconnects(w).length === 2, 'the h2 disconnect');
    assert.equal(disconnects(w)[1].reason, 'closed');
    session.destroy();

    // killed: CLIENT KILL USER ends a token user's streams
    const k = await SseClient.open(srv.ssePort, `/stream?channel=k&token=${token('kim', Math.floor(Date.now() / 1000) + 600)}`);
    await k.waitComments(1);
    await until(() => w.got.some((e) => e.channel === '__jugglite__:connect' && e.user === 'kim'), 'kim connected');
    const admin = await RawClient.connect(srv.respPort);
    await admin.call(['CLIENT', 'KILL', 'USER', 'kim']);
    await until(() => disconnects(w).length === 3, 'the kill');
    assert.deepEqual([disconnects(w)[2].reason, disconnects(w)[2].user], ['killed', 'kim']);

    // output limit: a reader that stopped reading
    const slow = net.connect(srv.ssePort, '127.0.0.1');
    slow.on('error', () => {});
    await new Promise((r) => slow.once('connect', r));
    slow.write('GET /stream?channel=slow HTTP/1.1\r\nHost: x\r\n\r\n');
    slow.pause();
    await until(async () => Number(decodeAll(await admin.call(['PUBSUB', 'NUMSUB', 'slow']))[0][1]) === 1, 'slow subscribed');
    const big = 'z'.repeat(32 * 1024);
    for (let i = 0; i < 200 && disconnects(w).length === 3; i++) {
      await admin.call(['PUBLISH', 'slow', big]);
      if (i % 10 === 9) await sleep(20);
    }
    await until(() => disconnects(w).length === 4, 'the slow reader cut');
    assert.deepEqual([disconnects(w)[3].reason, disconnects(w)[3].detail], ['output limit', 'output buffer limit']);
    slow.destroy();

    // token expired
    const e = await SseClient.open(srv.ssePort, `/stream?channel=e&token=${token('eve', Math.floor(Date.now() / 1000) + 2)}`);
    await e.waitComments(1);
    await until(() => disconnects(w).length === 5, 'the expiry', 15000);
    assert.deepEqual([disconnects(w)[4].reason, disconnects(w)[4].user], ['token expired', 'eve']);
    e.close();

    // nobody publishes to the prefix
    const r = decodeAll(await admin.call(['PUBLISH', '__jugglite__:disconnect', '{}']))[0];
    assert.match(String(r), /^ERR channels starting with '__jugglite__:' are reserved/);
    admin.close();

    // shutdown: the watcher is a RESP client of the same server, so the
    // event is read by a stream's own eyes: the one still open gets retry:
    // and its disconnect is published before the server exits.
    const last = await SseClient.open(srv.ssePort, '/stream?channel=z');
    await last.waitComments(1);
    await until(() => w.got.filter((x) => x.channel === '__jugglite__:connect').length === 6, 'the last connect');
    const stopped = srv.stop();
    await until(() => disconnects(w).length === 6 || w.c.closed, 'the shutdown disconnect or the close');
    await stopped;
    if (disconnects(w).length === 6) assert.equal(disconnects(w)[5].reason, 'shutdown');
    else assert.fail('the watcher was closed before the shutdown disconnect reached it');
  } finally {
    w.close();
    await srv.stop();
  }
});

test('bridged: an app on node A sees node B\'s streams; with events off, the prefix is still reserved', T, async () => {
  const redis = await startRedis();
  const up = ['--upstream', `redis://127.0.0.1:${redis.port}`, '--lifecycle-events'];
  const a = await startJugglite({ args: up });
  const b = await startJugglite({ args: up });
  const plain = await startJugglite();
  try {
    for (const n of [a, b]) {
      await until(async () => {
        const c = await RawClient.connect(n.respPort);
        try { return /upstream_state:up/.test(String(decodeAll(await c.call(['INFO', 'upstream']))[0])); } finally { c.close(); }
      }, 'the node bridged');
    }
    const w = await watcher(a.respPort);
    await sleep(300); // A's PSUBSCRIBE reaches Redis
    const s = await SseClient.open(b.ssePort, '/stream?channel=x');
    await s.waitComments(1);
    await until(() => w.got.some((e) => e.channel === '__jugglite__:connect'), 'B\'s connect seen on A');
    const ev = w.got.find((e) => e.channel === '__jugglite__:connect');
    assert.deepEqual(ev.channels, ['x']);
    s.close();
    await until(() => disconnects(w).length === 1, 'B\'s disconnect seen on A');
    assert.equal(disconnects(w)[0].node, ev.node);
    w.close();
    const c = await RawClient.connect(plain.respPort);
    assert.match(String(decodeAll(await c.call(['PUBLISH', '__jugglite__:x', 'y']))[0]), /reserved/);
    c.close();
  } finally {
    await a.stop();
    await b.stop();
    await plain.stop();
    await redis.stop();
  }
});

test('occupancy: a name\'s first subscriber on the node and its last leaving, SSE and RESP, channels and patterns', T, async () => {
  const srv = await startJugglite({ args: ['--lifecycle-events', '--allow-patterns'] });
  const w = await watcher(srv.respPort);
  try {
    const s1 = await SseClient.open(srv.ssePort, '/stream?channel=occ');
    await s1.waitComments(1);
    const s2 = await SseClient.open(srv.ssePort, '/stream?channel=occ'); // a second subscriber: no event
    await s2.waitComments(1);
    const r = await RawClient.connect(srv.respPort);
    await r.send(['SUBSCRIBE', 'occ', 'resp-only']);
    await r.readFrames(2, 5000);
    await r.send(['PSUBSCRIBE', 'pat*']);
    await r.readFrames(1, 5000);
    await until(() => w.got.filter((e) => e.channel === '__jugglite__:occupied').length === 6, 'three names occupied (node and cluster)');
    s1.close();
    s2.close();
    await r.send(['UNSUBSCRIBE']);
    await r.readFrames(2, 5000);
    await r.send(['PUNSUBSCRIBE']);
    await r.readFrames(1, 5000);
    await until(() => w.got.filter((e) => e.channel === '__jugglite__:vacated').length === 6, 'three names vacated (node and cluster)');
    const all = w.got.filter((e) => /^__jugglite__:(occupied|vacated)$/.test(e.channel));
    // One node is its own cluster: each change as scope node, then cluster
    const strip = ({ scope, ...rest }) => rest;
    assert.deepEqual(all.filter((e, i) => i % 2 === 1).map(strip), all.filter((e, i) => i % 2 === 0).map(strip));
    assert.deepEqual(all.map((e) => e.scope), all.map((e, i) => (i % 2 ? 'cluster' : 'node')));
    const events = all.filter((e) => e.scope === 'node');
    const names = (kind) => events.filter((e) => e.channel === `__jugglite__:${kind}`).map((e) => `${e.kind}:${e.name}`).sort();
    assert.deepEqual(names('occupied'), ['channel:occ', 'channel:resp-only', 'pattern:pat*']);
    assert.deepEqual(names('vacated'), ['channel:occ', 'channel:resp-only', 'pattern:pat*']);
    assert.ok(events.every((e) => e.node.length === 40), 'each says its node');
    assert.ok(!events.some((e) => String(e.name).startsWith('__jugglite__:')), 'the watchers\' own names are not reported');
    r.close();
  } finally {
    w.close();
    await srv.stop();
  }
});

test('RESP subscribers: connect at the first subscription, each change, disconnect with what is left and the reason (closed, killed, protocol error, shutdown)', T, async () => {
  const srv = await startJugglite({ args: ['--lifecycle-events'] });
  const w = await watcher(srv.respPort);
  const of = (id) => w.got.filter((e) => e.client_id === id && !/occupied|vacated/.test(e.channel)).map((e) => {
    const { node, peer, duration, ...rest } = e;
    assert.match(node, /^[0-9a-f]{40}$/);
    assert.match(peer, /^127\.0\.0\.1:\d+$/);
    if (duration !== undefined) assert.ok(duration >= 0);
    return rest;
  });
  const idOf = async (c) => Number(decodeAll(await c.call(['CLIENT', 'ID']))[0]);
  const admin = await RawClient.connect(srv.respPort);
  try {
    const r = await RawClient.connect(srv.respPort);
    const id = await idOf(r);
    const steps = [['SUBSCRIBE', 'a', 'b'], ['PSUBSCRIBE', 'p*'], ['SUBSCRIBE', 'a', 'c'], ['UNSUBSCRIBE', 'a', 'nope'],
      ['SSUBSCRIBE', 's'], ['SUBSCRIBE', '__jugglite__:connect'], ['UNSUBSCRIBE']];
    for (const s of steps) {
      await r.send(s);
      await r.readFrames(s[0] === 'UNSUBSCRIBE' && s.length === 1 ? 3 : s.length - 1, 5000);
    }
    await admin.call(['PUBLISH', 'p1', 'x']); // through the pattern: one event written to it
    await r.readFrames(1, 5000);
    await admin.call(['CLIENT', 'KILL', 'ID', String(id)]);
    await until(() => of(id).some((e) => e.channel === '__jugglite__:disconnect'), 'the kill');
    const base = { client_id: id, user: 'default', protocol: 'resp' };
    assert.deepEqual(of(id), [
      { channel: '__jugglite__:connect', ...base, channels: ['a', 'b'], patterns: [], shards: [] },
      { channel: '__jugglite__:subscribe', ...base, kind: 'pattern', names: ['p*'] },
      { channel: '__jugglite__:subscribe', ...base, kind: 'channel', names: ['c'] },
      { channel: '__jugglite__:unsubscribe', ...base, kind: 'channel', names: ['a'] },
      { channel: '__jugglite__:subscribe', ...base, kind: 'shard', names: ['s'] },
      { channel: '__jugglite__:unsubscribe', ...base, kind: 'channel', names: ['b', 'c'] },
      { channel: '__jugglite__:disconnect', ...base, channels: [], patterns: ['p*'], shards: ['s'],
        reason: 'killed', detail: 'CLIENT KILL', events: 1 },
    ]);

    // INFO counts what was published: every one of them reached the watcher
    const info = async () => String(decodeAll(await admin.call(['INFO', 'jugglite']))[0]);
    await until(async () => Number(/lifecycle_events_published:(\d+)/.exec(await info())[1]) === w.got.length, 'INFO counts each event the watcher read');
    assert.match(await info(), /lifecycle_events:yes\r\nlifecycle_events_published:\d+\r\nlifecycle_events_dropped:0\r\nlifecycle_events_pending:0\r\n/);

    // closed: the client goes away (FIN), and QUIT
    const q = await RawClient.connect(srv.respPort);
    const qid = await idOf(q);
    await q.send(['SUBSCRIBE', 'q']);
    await q.readFrames(1, 5000);
    q.end();
    const quitter = await RawClient.connect(srv.respPort);
    const quid = await idOf(quitter);
    await quitter.call(['SUBSCRIBE', 'q2']);
    await quitter.call(['QUIT']).catch(() => {});
    await until(() => of(qid).length === 2 && of(quid).length === 2, 'both closes');
    assert.deepEqual([of(qid)[1].reason, of(quid)[1].reason], ['closed', 'closed']);

    // protocol error: Redis's error and a close
    const bad = await RawClient.connect(srv.respPort);
    const bid = await idOf(bad);
    await bad.call(['SUBSCRIBE', 'bad']);
    bad.send('*1\r\n$x\r\n');
    await until(() => of(bid).length === 2, 'the protocol error');
    assert.equal(of(bid)[1].reason, 'protocol error');

    // a client that only watches is never reported
    assert.ok(!w.got.some((e) => e.channel === '__jugglite__:connect' && e.client_id !== id && e.client_id !== qid && e.client_id !== quid && e.client_id !== bid));

    // shutdown: published before any client hears of it, so this node's watcher reads it
    const last = await RawClient.connect(srv.respPort);
    const lid = await idOf(last);
    await last.call(['SUBSCRIBE', 'z']);
    await until(() => of(lid).length === 1, 'the last connect');
    const stopped = srv.stop();
    await until(() => of(lid).length === 2 || w.c.closed, 'the shutdown disconnect or the close');
    await stopped;
    assert.equal(of(lid).length, 2, 'the watcher read the shutdown disconnect before its close');
    assert.deepEqual([of(lid)[1].reason, of(lid)[1].channels], ['shutdown', ['z']]);
    last.close();
  } finally {
    admin.close();
    w.close();
    await srv.stop();
  }
});

test('CLIENT KILL reaches SSE streams by ID, ADDR (both forms), LADDR and TYPE sse; TYPE pubsub and normal spare them', T, async () => {
  const srv = await startJugglite({ args: ['--lifecycle-events'] });
  const w = await watcher(srv.respPort);
  const admin = await RawClient.connect(srv.respPort);
  const kill = async (...args) => decodeAll(await admin.call(['CLIENT', 'KILL', ...args]))[0];
  const open = async (chan) => {
    const s = await SseClient.open(srv.ssePort, `/stream?channel=${chan}`);
    await s.waitComments(1);
    await until(() => w.got.some((e) => e.channel === '__jugglite__:connect' && e.channels[0] === chan), `${chan} connected`);
    return { s, id: w.got.find((e) => e.channel === '__jugglite__:connect' && e.channels[0] === chan).client_id };
  };
  const killedIds = () => disconnects(w).filter((e) => e.reason === 'killed').map((e) => e.client_id).sort();
  try {
    const [a, b, c, d, e] = [await open('ka'), await open('kb'), await open('kc'), await open('kd'), await open('ke')];
    assert.equal(await kill('ID', String(a.id)), 1);
    assert.equal(await kill('ADDR', `${b.s.sock.localAddress}:${b.s.sock.localPort}`), 1);
    assert.match(String(await kill(`${c.s.sock.localAddress}:${c.s.sock.localPort}`)), /^OK$/);
    // Streams are TYPE sse, neither pubsub nor normal (the listener's LADDR
    // keeps the watcher and admin, RESP clients, out of it)
    assert.equal(await kill('TYPE', 'pubsub', 'LADDR', `127.0.0.1:${srv.ssePort}`), 0);
    assert.equal(await kill('TYPE', 'normal', 'LADDR', `127.0.0.1:${srv.ssePort}`), 0);
    await until(() => killedIds().length === 3, 'three kills');
    assert.deepEqual(killedIds(), [a.id, b.id, c.id].sort());
    assert.equal(await kill('LADDR', `127.0.0.1:${srv.ssePort}`, 'TYPE', 'sse'), 2);
    const still = await RawClient.connect(srv.respPort);
    assert.deepEqual(decodeAll(await still.call(['PUBSUB', 'NUMSUB', 'kd', 'ke']))[0].map(String), ['kd', '0', 'ke', '0']);
    still.close();
    for (const x of [a, b, c, d, e]) x.s.close();
  } finally {
    admin.close();
    w.close();
    await srv.stop();
  }
});

test('browsers read __jugglite__:* only when a rule names it: not by default, not through a pattern, not with a token for *', T, async () => {
  const key = crypto.randomBytes(32).toString('hex');
  writeFileSync(path.join(dir, 'rl.key'), `${key}\n`);
  const b64 = (b) => Buffer.from(b).toString('base64url');
  const token = (subscribe) => {
    const data = `${b64(JSON.stringify({ alg: 'HS256', typ: 'JWT' }))}.${b64(JSON.stringify({ sub: 'u', exp: Math.floor(Date.now() / 1000) + 600, jugglite: { subscribe } }))}`;
    return `${data}.${b64(crypto.createHmac('sha256', key).update(data).digest())}`;
  };
  const open = [];
  const srv = await startJugglite({ args: ['--lifecycle-events', '--allow-patterns', '--token-key', path.join(dir, 'rl.key'), '--token-param', 'token'] });
  const listed = await startJugglite({ args: ['--lifecycle-events', '--allowed-channels', '__jugglite__:connect,news'] });
  try {
    const stream = async (s, q) => {
      const c = await SseClient.open(s.ssePort, `/stream?${q}`);
      await c.waitComments(1);
      open.push(c);
      return c;
    };
    const none = await stream(srv, 'channel=__jugglite__:connect');
    assert.match(none.body.toString(), /^: registered to channels: \n/, 'dropped by default');
    const all = await stream(srv, 'pattern=*');
    const star = await stream(srv, `channel=__jugglite__:connect,x&token=${token(['*'])}`);
    assert.match(star.body.toString(), /^: registered to channels: x\n/, 'a token for * does not name it');
    const named = await stream(srv, `channel=__jugglite__:connect&token=${token(['__jugglite__:*'])}`);
    assert.match(named.body.toString(), /^: registered to channels: __jugglite__:connect\n/);
    const someone = await stream(srv, 'channel=someone'); // its connect event
    const pub = await RawClient.connect(srv.respPort);
    assert.equal(decodeAll(await pub.call(['PUBLISH', 'x', 'hello']))[0], 2, 'the * pattern and the x stream');
    pub.close();
    // its own connect first (it was subscribed before that was published),
    // then someone's; the server's ids (a payload's "id" would be taken as
    // the event's: hence client_id)
    const ev = await named.waitEvents(2, 10000);
    assert.deepEqual(ev.map((e) => JSON.parse(e.data).channels[0]), ['__jugglite__:connect', 'someone'],
      'a token that names the prefix reads it');
    for (const e of ev) assert.match(e.lastEventId, /^\d+-\d+$/);
    const seen = await all.waitEvents(1, 10000);
    assert.deepEqual(seen.map((e) => e.data), ['hello']);
    await sleep(300);
    assert.deepEqual(all.events.map((e) => e.data), ['hello'], 'the pattern got no lifecycle event');
    // nor does its replay: a disconnect event is in the history after hello
    someone.close();
    await until(async () => {
      const c = await RawClient.connect(srv.respPort);
      try { return Number(decodeAll(await c.call(['PUBSUB', 'NUMSUB', 'someone']))[0][1]) === 0; } finally { c.close(); }
    }, 'someone gone');
    const pub2 = await RawClient.connect(srv.respPort);
    await pub2.call(['PUBLISH', 'x', 'bye']);
    pub2.close();
    const again = await SseClient.open(srv.ssePort, '/stream?pattern=*', { headers: { 'Last-Event-ID': seen[0].lastEventId } });
    open.push(again);
    assert.deepEqual((await again.waitEvents(1, 10000)).map((e) => e.data), ['bye']);
    await sleep(300);
    assert.deepEqual(again.events.map((e) => e.data), ['bye'], 'replayed without the lifecycle events');

    // an --allowed-channels entry under the prefix names it
    const ok = await stream(listed, 'channel=__jugglite__:connect');
    assert.match(ok.body.toString(), /^: registered to channels: __jugglite__:connect\n/);
    await stream(listed, 'channel=news');
    const got = await ok.waitEvents(2, 10000);
    assert.deepEqual(got.map((e) => JSON.parse(e.data).channels[0]), ['__jugglite__:connect', 'news']);
  } finally {
    for (const c of open) c.close();
    await srv.stop();
    await listed.stop();
  }
});
