// Reading the history as Redis streams (issue 10 item 9): XRANGE, XREVRANGE,
// XLEN and XREAD against Debian's redis-server 7.0.15 holding the same
// entries. Every payload is PUBLISHed to jugglite, and XADDed to redis with
// the id jugglite gave it (`XADD key <id> data <payload>`); then the same
// bytes go to both and the replies must be identical, in RESP2 and RESP3,
// errors included. XREAD BLOCK is compared the same way: both block, the
// same entry arrives on both (a publish here, an XADD there), and the
// woken clients' bytes must match.
//
// With JL_TARGET=redis (tests/integration/README.md) the "jugglite" side is
// a redis-server too and publishing is an XADD there: the file then checks
// itself against Redis.

import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startRedis, startJugglite, diff, RawClient, splitFrames, escapeBytes, sleep, TARGET, SseClient, encodeMany,
} from './lib/harness.mjs';

let ref, sub, onRef, onSub;
before(async () => {
  [ref, sub] = await Promise.all([startRedis(), startJugglite()]);
  [onRef, onSub] = await Promise.all([RawClient.connect(ref.port), RawClient.connect(sub.respPort)]);
});
after(async () => {
  onRef?.close();
  onSub?.close();
  await Promise.all([ref?.stop(), sub?.stop()]);
});

const TT = { timeout: 60000 };
let seq = 0;
const uniq = () => `s${++seq}-${process.pid % 1000}-`;

const S = (on, ...args) => ({ on, send: args });
const SO = (on, args, opts) => ({ on, send: args, ...opts });
const init = (proto, ...ids) => (proto === 3 ? ids.map((id) => ({ on: id, send: ['HELLO', '3'], compare: 'hello' })) : []);

/** The same entry on both sides: published here (its id is the history's),
 *  added with that id there. Returns the id. */
async function both(key, payload) {
  let id;
  if (TARGET === 'redis') {
    id = (await onSub.call(['XADD', key, '*', 'data', payload])).toString().split('\r\n')[1];
  } else {
    await onSub.call(['PUBLISH', key, payload]);
    const f = splitFrames(await onSub.call(['XREVRANGE', key, '+', '-', 'COUNT', '1'])).frames[0];
    id = f.v[0].v[0].v.toString();
  }
  const r = (await onRef.call(['XADD', key, id, 'data', payload])).toString();
  assert.equal(r, `$${id.length}\r\n${id}\r\n`, `XADD ${key} ${id} on redis`);
  return id;
}

const PAYLOADS = [
  'hello', '', 'a\r\nb', 'cr\ronly', 'trailing\n', '\n', '\r\n\r\n',
  Buffer.from(Array.from({ length: 256 }, (_, i) => i)),
  '{"id":"order-17","total":3}', '{"event":"news","id":5,"text":"x\\ny"}',
  'data: fake\n\nid: 1', 'x'.repeat(5000), ' leading space',
];

/** news: every payload; other: two entries between them; ids in order. */
async function fill(u) {
  const ids = [];
  for (const [i, p] of PAYLOADS.entries()) {
    ids.push(await both(`${u}news`, p));
    if (i % 6 === 0) await both(`${u}other`, `other ${i}`);
  }
  return ids;
}

const ms = (id) => id.split('-')[0];

async function run(name, script) {
  return diff(script, { ref: ref.port, sub: sub.respPort, name });
}

for (const proto of [2, 3]) {
  describe(`RESP${proto}`, () => {
    test('XLEN, XRANGE and XREVRANGE over every payload, ids and errors as Redis', TT, async () => {
      const u = uniq();
      const ids = await fill(u);
      const n = `${u}news`, none = `${u}none`;
      const [a, b, c] = [ids[2], ids[5], ids[ids.length - 1]];
      await run('xrange', [
        ...init(proto, 'a'),
        S('a', 'XLEN', n), S('a', 'XLEN', `${u}other`), S('a', 'XLEN', none),
        S('a', 'XLEN'), S('a', 'XLEN', n, n), S('a', 'xlen', n),
        S('a', 'XRANGE', n, '-', '+'), S('a', 'xrange', n, '-', '+', 'count', '3'),
        S('a', 'XRANGE', n, '-', '+', 'COUNT', '0'), S('a', 'XRANGE', n, '-', '+', 'COUNT', '-1'),
        S('a', 'XRANGE', n, '-', '+', 'COUNT', 'x'), S('a', 'XRANGE', n, '-', '+', 'COUNT', '1', 'COUNT', '2'),
        S('a', 'XRANGE', n, '-', '+', 'COUNT'), S('a', 'XRANGE', n, '-', '+', 'FOO'),
        S('a', 'XRANGE', n, '-', '+', 'COUNT', '99999999999999999999'),
        S('a', 'XRANGE', n, a, b), S('a', 'XRANGE', n, `(${a}`, `(${b}`), S('a', 'XRANGE', n, b, a),
        S('a', 'XRANGE', n, ms(a), ms(b)), S('a', 'XRANGE', n, `(${ms(a)}`, `(${ms(c)}`),
        S('a', 'XRANGE', n, c, '+'), S('a', 'XRANGE', n, `(${c}`, '+'), S('a', 'XRANGE', n, '-', `(${ids[0]}`),
        S('a', 'XRANGE', n, '+', '-'), S('a', 'XRANGE', n, '0', '0'), S('a', 'XRANGE', n, '0-0', '(0-0'),
        S('a', 'XRANGE', n, '-', '(0'), S('a', 'XRANGE', n, '(18446744073709551615-18446744073709551615', '+'),
        S('a', 'XRANGE', n, '18446744073709551615-18446744073709551615', '+'),
        S('a', 'XRANGE', n, '(', '+'), S('a', 'XRANGE', n, '(-', '+'), S('a', 'XRANGE', n, '-', '(+'),
        S('a', 'XRANGE', n, 'x', '+'), S('a', 'XRANGE', n, '1-', '+'), S('a', 'XRANGE', n, '-1', '+'),
        S('a', 'XRANGE', n, ' 5', '+'), S('a', 'XRANGE', n, '+5', '+'), S('a', 'XRANGE', n, '007', '+'),
        S('a', 'XRANGE', n, '1-+2', '+'), S('a', 'XRANGE', n, '1- -1', '+'), S('a', 'XRANGE', n, '1-*', '+'),
        S('a', 'XRANGE', n, '1--1', '+'), S('a', 'XRANGE', n, '1-18446744073709551616', '+'),
        S('a', 'XRANGE', n, '18446744073709551616', '+'), S('a', 'XRANGE', n, `${ms(b)}\0junk`, '+'),
        S('a', 'XRANGE', n, '1'.repeat(200), '+'), S('a', 'XRANGE', n, '-', '+ '),
        S('a', 'XRANGE', n, 'x', '+', 'COUNT', 'x'), S('a', 'XRANGE', n, '-', '+', 'COUNT', 'x', 'FOO'),
        S('a', 'XRANGE', none, '-', '+'), S('a', 'XRANGE', none, '-', '+', 'COUNT', '0'),
        S('a', 'XRANGE', none, 'x', '+'), S('a', 'XRANGE', n, '-'), S('a', 'XRANGE'),
        S('a', 'XREVRANGE', n, '+', '-'), S('a', 'XREVRANGE', n, '+', '-', 'COUNT', '2'),
        S('a', 'XREVRANGE', n, b, a), S('a', 'XREVRANGE', n, `(${b}`, `(${a}`), S('a', 'XREVRANGE', n, '-', '+'),
        S('a', 'XREVRANGE', n, '+', '-', 'COUNT', '0'), S('a', 'XREVRANGE', none, '+', '-'),
        S('a', 'XREVRANGE', n, '(0-0', '-'), S('a', 'XREVRANGE', n, '+', '(18446744073709551615-18446744073709551615'),
        S('a', 'XREVRANGE', n, 'bad', '-'), S('a', 'XREVRANGE', n, '+'),
      ]);
    });

    test('XREAD without BLOCK: streams, ids, $, COUNT and every error', TT, async () => {
      const u = uniq();
      const ids = await fill(u);
      const n = `${u}news`, o = `${u}other`, none = `${u}none`;
      const last = ids[ids.length - 1];
      await run('xread', [
        ...init(proto, 'a'),
        S('a', 'XREAD', 'STREAMS', n, '0'), S('a', 'xread', 'count', '2', 'streams', n, o, '0', '0'),
        S('a', 'XREAD', 'COUNT', '1', 'STREAMS', n, o, none, '0', '0', '0'),
        S('a', 'XREAD', 'STREAMS', o, n, ids[3], ids[3]), S('a', 'XREAD', 'STREAMS', n, last),
        S('a', 'XREAD', 'STREAMS', n, ms(last)), S('a', 'XREAD', 'STREAMS', n, n, '0', ids[8]),
        S('a', 'XREAD', 'STREAMS', n, '$'), S('a', 'XREAD', 'STREAMS', none, '$'), S('a', 'XREAD', 'STREAMS', none, '0'),
        S('a', 'XREAD', 'COUNT', '0', 'STREAMS', o, '0'), S('a', 'XREAD', 'COUNT', '-3', 'STREAMS', o, '0'),
        S('a', 'XREAD', 'COUNT', '5', 'COUNT', '1', 'STREAMS', n, '0'),
        S('a', 'XREAD', 'BLOCK', '0', 'STREAMS', o, '0'), S('a', 'XREAD', 'BLOCK', '10', 'STREAMS', n, '$'),
        S('a', 'XREAD', 'BLOCK', '-1', 'STREAMS', n, '0'), S('a', 'XREAD', 'BLOCK', 'x', 'STREAMS', n, '0'),
        S('a', 'XREAD', 'BLOCK', '1.5', 'STREAMS', n, '0'), S('a', 'XREAD', 'COUNT', 'x', 'STREAMS', n, '0'),
        S('a', 'XREAD', 'STREAMS', n, o, '0'), S('a', 'XREAD', 'STREAMS', n), S('a', 'XREAD', 'STREAMS'),
        S('a', 'XREAD', 'COUNT', '1', 'STREAMS'), S('a', 'XREAD', 'COUNT', '1', 'BLOCK'),
        S('a', 'XREAD', 'FOO', 'STREAMS', n, '0'), S('a', 'XREAD', n, '0', 'x'),
        S('a', 'XREAD', 'GROUP', 'g', 'c', 'STREAMS', n, '0'), S('a', 'XREAD', 'NOACK', 'STREAMS', n, '0'),
        S('a', 'XREAD', 'STREAMS', n, '>'), S('a', 'XREAD', 'STREAMS', n, '-'), S('a', 'XREAD', 'STREAMS', n, '+'),
        S('a', 'XREAD', 'STREAMS', n, '(1'), S('a', 'XREAD', 'STREAMS', n, o, 'bad', '$'),
        S('a', 'XREAD', 'STREAMS', n, o, '0', 'bad'), S('a', 'XREAD', 'STREAMS', n, ' -5'),
        S('a', 'XREAD', 'STREAMS', n, '9223372036854775808-1'), S('a', 'XREAD', 'BLOCK', 'x', 'STREAMS', n),
        S('a', 'XREAD', 'STREAMS', 'STREAMS', n, '0', '0'),
      ]);
    });

    test('XREAD BLOCK inside MULTI does not block; stream commands in MULTI and in subscribed mode', TT, async () => {
      const u = uniq();
      await fill(u);
      const n = `${u}news`;
      await run('xread-multi', [
        ...init(proto, 'a', 'b'),
        S('a', 'MULTI'), S('a', 'XREAD', 'BLOCK', '0', 'STREAMS', n, '$'), S('a', 'XLEN', n),
        S('a', 'XRANGE', n, '-', '+', 'COUNT', '1'), S('a', 'XREAD', 'COUNT', '1', 'STREAMS', n, '0'), S('a', 'EXEC'),
        S('a', 'MULTI'), S('a', 'XRANGE', n, '-'), S('a', 'XLEN', n), S('a', 'EXEC'),
        S('a', 'MULTI'), S('a', 'XRANGE', n, 'bad', '+'), S('a', 'EXEC'),
        S('b', 'SUBSCRIBE', `${u}chan`), S('b', 'XLEN', n), S('b', 'XRANGE', n, '-', '+', 'COUNT', '1'),
        S('b', 'XREAD', 'STREAMS', n, '$'),
      ]);
    });

    test('XREAD BLOCK: a new entry wakes every waiter, each with its streams', TT, async () => {
      const u = uniq();
      await fill(u);
      const n = `${u}news`, o = `${u}other`, none = `${u}none`;
      const side = async (port) => {
        const c = { a: await RawClient.connect(port), b: await RawClient.connect(port), c: await RawClient.connect(port) };
        if (proto === 3) for (const x of Object.values(c)) await x.call(['HELLO', '3']);
        return c;
      };
      const [r, s] = await Promise.all([side(ref.port), side(sub.respPort)]);
      const block = async (cl) => {
        await cl.a.send(['XREAD', 'BLOCK', '0', 'STREAMS', o, n, '$', '$']);
        await cl.b.send(['XREAD', 'COUNT', '1', 'BLOCK', '5000', 'STREAMS', none, n, '$', '$']);
        // pipelined behind a blocked XREAD: answered after it
        await cl.c.send(encodeMany([['XREAD', 'BLOCK', '0', 'STREAMS', none, '$'], ['PING']]));
      };
      await Promise.all([block(r), block(s)]);
      await sleep(100);
      for (const cl of [r, s]) for (const x of Object.values(cl)) assert.equal(x.buf.length, 0, 'nothing before the entry');
      await both(n, 'woke\r\nboth');
      const got = async (cl) => [await cl.a.readFrame(), await cl.b.readFrame()].map((f) => f.raw);
      const [rr, ss] = await Promise.all([got(r), got(s)]);
      for (let i = 0; i < 2; i++) assert.equal(escapeBytes(ss[i]), escapeBytes(rr[i]), `waiter ${i}`);
      await both(none, 'now');
      const [rc, sc] = await Promise.all([r.c.readFrames(2), s.c.readFrames(2)]);
      assert.equal(escapeBytes(sc), escapeBytes(rc), 'the waiter on a new key, then its pipelined PING');
      for (const cl of [r, s]) for (const x of Object.values(cl)) x.close();
    });
  });
}

test('XREAD BLOCK times out with a null reply, and a blocked client that leaves is forgotten', TT, async () => {
  const u = uniq();
  const c = await RawClient.connect(sub.respPort);
  const t0 = Date.now();
  assert.equal((await c.call(['XREAD', 'BLOCK', '150', 'STREAMS', `${u}k`, '$'])).toString(), '*-1\r\n');
  assert.ok(Date.now() - t0 >= 140, `timed out after ${Date.now() - t0} ms`);
  await c.call(['HELLO', '3']);
  assert.equal((await c.call(['XREAD', 'BLOCK', '20', 'STREAMS', `${u}k`, '$'])).toString(), '_\r\n');
  await c.send(['XREAD', 'BLOCK', '0', 'STREAMS', `${u}k`, '$']);
  await sleep(50);
  if (TARGET !== 'redis') {
    assert.match((await onSub.call(['INFO', 'clients'])).toString(), /blocked_clients:1\r\n/);
    assert.match((await onSub.call(['CLIENT', 'LIST'])).toString(), /flags=b /);
  }
  c.close();
  await sleep(100);
  assert.match((await onSub.call(['INFO', 'clients'])).toString(), /blocked_clients:0\r\n/);
  await both(`${u}k`, 'after the waiter left');
  assert.equal((await onSub.call(['PING'])).toString(), '+PONG\r\n');
});

test('an HTTP publish wakes XREAD BLOCK; the key is the history\'s name, namespace included', TT, async (t) => {
  if (TARGET === 'redis') return t.skip('no HTTP side on redis');
  const srv = await startJugglite({ args: ['--namespace', 'ns:', '--publish-token', 'tok'] });
  try {
    const c = await RawClient.connect(srv.respPort);
    await c.send(['XREAD', 'BLOCK', '5000', 'STREAMS', 'ns:news', '$']);
    await sleep(50);
    const body = 'from http';
    const head = `POST /publish?channel=news HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer tok\r\n` +
      `Content-Length: ${body.length}\r\nConnection: close\r\n\r\n`;
    const h = await SseClient.open(srv.ssePort, '/publish', { request: head + body });
    await h.waitEnd();
    assert.equal(h.status, 200, String(h.body));
    h.close();
    const f = splitFrames((await c.readFrame()).raw).frames[0];
    assert.equal(f.v[0].v[0].v.toString(), 'ns:news');
    const entry = f.v[0].v[1].v[0];
    assert.deepEqual(entry.v[1].v.map((x) => x.v.toString()), ['data', 'from http']);
    assert.equal((await c.call(['XLEN', 'news'])).toString(), ':0\r\n');
    c.close();
  } finally { await srv.stop(); }
});

test('XRANGE shows what a resuming browser is replayed: the same ids, the same data', TT, async (t) => {
  if (TARGET === 'redis') return t.skip('no SSE side on redis');
  const u = uniq();
  const key = `${u}replay`;
  const payloads = ['one', 'two\nlines', '', 'x'.repeat(3000), 'last'];
  for (const p of payloads) await onSub.call(['PUBLISH', key, p]);
  const entries = splitFrames(await onSub.call(['XRANGE', key, '-', '+'])).frames[0].v
    .map((e) => ({ id: e.v[0].v.toString(), data: e.v[1].v[1].v.toString() }));
  assert.deepEqual(entries.map((e) => e.data), payloads);
  const sse = await SseClient.open(sub.ssePort, `/stream?channel=${key}`, { headers: { 'Last-Event-ID': entries[0].id } });
  const got = (await sse.waitEvents(payloads.length - 1)).map((e) => ({ id: e.lastEventId, data: e.data }));
  sse.close();
  assert.deepEqual(got, entries.slice(1));
});

test('COMMAND INFO and COMMAND DOCS of the stream commands say what Redis says', TT, async (t) => {
  // jugglite models name, arity, flags, key positions and ACL categories
  // (COMMAND INFO) and summary, since, group (COMMAND DOCS), for every
  // command; key specs, tips and the DOCS argument lists it leaves empty.
  const info = async (cl, name) => {
    const top = splitFrames(await cl.call(['COMMAND', 'INFO', name])).frames[0].v[0].v;
    const words = (node) => node.v.map((x) => x.v.toString()).join(' ');
    return [top[0].v.toString(), top[1].v, words(top[2]), top[3].v, top[4].v, top[5].v, words(top[6])];
  };
  const docs = async (cl, name) => {
    const top = splitFrames(await cl.call(['COMMAND', 'DOCS', name])).frames[0].v;
    const m = top[1].v.map((x) => (Buffer.isBuffer(x.v) ? x.v.toString() : x.v));
    const get = (k) => m[m.indexOf(k) + 1];
    return [top[0].v.toString(), get('summary'), get('since'), get('group')];
  };
  for (const name of ['xrange', 'xrevrange', 'xlen', 'xread']) {
    assert.deepEqual(await info(onSub, name), await info(onRef, name), `COMMAND INFO ${name}`);
    assert.deepEqual(await docs(onSub, name), await docs(onRef, name), `COMMAND DOCS ${name}`);
  }
  if (TARGET === 'redis') return;
  // and nothing else of the stream group appears
  for (const name of ['xadd', 'xdel', 'xtrim', 'xreadgroup', 'xinfo', 'type', 'exists']) {
    assert.equal((await onSub.call(['COMMAND', 'INFO', name])).toString(), '*1\r\n*-1\r\n', name);
  }
});
