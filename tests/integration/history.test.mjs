// Event ids and the per-channel history, against the real binary, with real
// clients:
//   - every SSE event carries `id: <ms>-<seq>` (one clock for the node), a
//     JSON payload's own "id" still wins;
//   - a stream opened with Last-Event-ID (header, or lastEventId /
//     last_event_id in the query) gets every retained event of its channels
//     newer than that id, once, in publish order, then live events;
//   - an id older than what is retained (evicted), unknown / from the
//     future, or from before a restart: one `event: jugglite-gap` first,
//     without an id: line when retained events follow it, with the node's
//     newest id when nothing does (docs/history.md);
//   - a stream whose channel and pattern overlap gets a publish once;
//   - long-poll resumes the same way;
//   - the `eventsource` npm client and headless Chromium through a dropped
//     connection (a TCP proxy of the test's own, lib/proxy.mjs): every event
//     exactly once, in order, and Chromium sees the gap event;
//   - --history-memory holds under a flood of distinct channels.
// No wall-clock thresholds: waits have deadlines, nothing is timed.

import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  startJugglite, RawClient, SseClient, decodeAll, encode, countFrames, sleep, withTimeout, until,
} from './lib/harness.mjs';
import { publish, scaled, rss, RSS_SLACK, MiB, WRAPPED } from './lib/hostile.mjs';
import { startProxy } from './lib/proxy.mjs';
import { chromiumPath, launchChromium } from './lib/browser.mjs';

const T = { timeout: 60000 };
const ID_RE = /^(\d+)-(\d+)$/;
const DAY = 24 * 3600 * 1000;

// ---------------------------------------------------------------- helpers

/** A server id as [ms, seq] (BigInt); fails the test if it is not one. */
function idParts(id) {
  const m = ID_RE.exec(id);
  assert.ok(m, `not a <ms>-<seq> id: ${JSON.stringify(id)}`);
  return [BigInt(m[1]), BigInt(m[2])];
}

function idLess(a, b) {
  const [am, as] = idParts(a);
  const [bm, bs] = idParts(b);
  return am < bm || (am === bm && as < bs);
}

/** Every id is a server id, its ms reads as "now" (within a day: the clock,
 *  not a duration), and each is greater than the one before. */
function assertServerIds(ids, what = 'ids') {
  for (const id of ids) {
    const ms = Number(idParts(id)[0]);
    assert.ok(Math.abs(ms - Date.now()) < DAY, `${what}: ${id} is not ms since the epoch`);
  }
  for (let i = 1; i < ids.length; i++) {
    assert.ok(idLess(ids[i - 1], ids[i]), `${what}: ${ids[i - 1]} then ${ids[i]} is not increasing (${ids.join(' ')})`);
  }
}

/** The frame of a plain-text event with a server id. */
const frame = (id, payload) => `id: ${id}\ndata: ${payload}\n\n`;
const reg = (...chans) => `: registered to channels: ${chans.join(', ')}\n`;

async function command(port, ...args) {
  const c = await RawClient.connect(port);
  try { return decodeAll(await c.call(args, 10000))[0]; } finally { c.close(); }
}

async function numsub(port, chan) {
  return (await command(port, 'PUBSUB', 'NUMSUB', chan))[1];
}

async function waitNumsub(port, chan, n, ms = 15000) {
  const end = Date.now() + ms;
  for (;;) {
    const got = await numsub(port, chan);
    if (got === n) return;
    if (Date.now() > end) throw new Error(`NUMSUB ${chan} is ${got}, expected ${n}`);
    await sleep(20);
  }
}

/** Opens a stream and waits for its registration comment. */
async function openStream(port, query, opts = {}) {
  const c = await SseClient.open(port, `/stream${query}`, opts);
  await c.waitBody((t) => t.includes('\n'));
  return c;
}

/** Publishes every payload to chan, each must reach `want` receivers. */
async function publishAll(port, chan, payloads, want) {
  for (const p of payloads) assert.equal(await publish(port, chan, p), want, `PUBLISH ${chan} ${p}`);
}

/** A stream on `query`, the payloads published to it (one receiver: this
 *  stream), their ids as the stream saw them. The stream is closed and gone
 *  from NUMSUB of `chan` afterwards. */
async function idsOf(srv, query, chan, payloads) {
  const s = await openStream(srv.ssePort, query);
  await publishAll(srv.respPort, chan, payloads, 1);
  const ev = await s.waitEvents(payloads.length);
  assert.deepEqual(ev.map((e) => e.data), payloads);
  s.close();
  await waitNumsub(srv.respPort, chan, 0);
  const ids = ev.map((e) => e.lastEventId);
  assertServerIds(ids);
  return ids;
}

/** The gap event's JSON, after checking its frame has no id: line. */
function gapOf(ev) {
  assert.equal(ev.type, 'jugglite-gap', `expected a jugglite-gap event, got ${JSON.stringify(ev)}`);
  return JSON.parse(ev.data);
}

/** A gap frame followed by retained events: no id: line. */
const GAP_NO_ID = /^event: jugglite-gap\ndata: \{[^\n]*\}$/;
/** A gap frame with nothing retained after it: the node's newest id. */
const GAP_WITH_ID = /^event: jugglite-gap\nid: (\d+-\d+)\ndata: \{[^\n]*\}$/;

/** The frames of a body after the registration comment, as text blocks. */
function blocks(body) {
  const nl = body.indexOf('\n');
  return body.slice(nl + 1).split('\n\n').filter((b) => b !== '');
}

async function infoText(port, section) {
  const c = await RawClient.connect(port);
  try {
    const v = decodeAll(await c.call(['INFO', section], 10000))[0];
    return Buffer.isBuffer(v) ? v.toString('latin1') : String(v);
  } finally { c.close(); }
}

function infoFields(text) {
  const out = {};
  for (const line of text.split('\r\n')) {
    const i = line.indexOf(':');
    if (i > 0 && !line.startsWith('#')) out[line.slice(0, i)] = line.slice(i + 1);
  }
  return out;
}

// ---------------------------------------------------------------- ids and resume

describe('history: ids and resume over raw HTTP', () => {
  let srv;
  before(async () => { srv = await startJugglite(); });
  after(async () => {
    const r = await srv?.stop();
    assert.equal(r?.code, 0);
  });

  test('every event has an id: line; server ids increase; a valid JSON id wins', T, async () => {
    const s = await openStream(srv.ssePort, '?channel=ids');
    const payloads = [
      'plain',
      '{"event":"update","n":1}',         // event, no id: event line, then the server id
      '{"id":"j-1","n":2}',               // JSON id
      '{"event":"e","id":7}',             // numeric JSON id
      '{"id":"a\\nb"}',                   // an id sse.c refuses: the server id
      'a\nb',
    ];
    await publishAll(srv.respPort, 'ids', payloads, 1);
    const ev = await s.waitEvents(payloads.length);
    const body = s.body.toString();
    const b = blocks(body);
    assert.equal(b.length, payloads.length, body);
    const sid = (block) => {
      const m = /^(?:event: [^\n]*\n)?id: ([^\n]*)\ndata: /.exec(block);
      assert.ok(m, `no id: line right before data: in ${JSON.stringify(block)}`);
      return m[1];
    };
    const ids = b.map(sid);
    assert.equal(b[0], `id: ${ids[0]}\ndata: plain`);
    assert.equal(b[1], `event: update\nid: ${ids[1]}\ndata: {"event":"update","n":1}`);
    assert.equal(b[2], 'id: j-1\ndata: {"id":"j-1","n":2}');
    assert.equal(b[3], 'event: e\nid: 7\ndata: {"event":"e","id":7}');
    assert.equal(b[4], `id: ${ids[4]}\ndata: {"id":"a\\nb"}`);
    assert.equal(b[5], `id: ${ids[5]}\ndata: a\ndata: b`);
    assertServerIds([ids[0], ids[1], ids[4], ids[5]], 'server ids');
    assert.deepEqual(ev.map((e) => e.lastEventId), ids);
    s.close();
  });

  test('one clock: ids increase across channels and across streams', T, async () => {
    const a = await openStream(srv.ssePort, '?channel=clock-a');
    const b = await openStream(srv.ssePort, '?channel=clock-b');
    const both = await openStream(srv.ssePort, '?channel=clock-a,clock-b');
    const order = [];
    for (let i = 0; i < 20; i++) {
      const ch = i % 3 === 0 ? 'clock-b' : 'clock-a';
      assert.equal(await publish(srv.respPort, ch, `${ch}-${i}`), 2);
      order.push(`${ch}-${i}`);
    }
    const all = await both.waitEvents(20);
    assert.deepEqual(all.map((e) => e.data), order);
    assertServerIds(all.map((e) => e.lastEventId), 'one stream on two channels');
    const ea = await a.waitEvents(order.filter((p) => p.startsWith('clock-a')).length);
    const eb = await b.waitEvents(order.filter((p) => p.startsWith('clock-b')).length);
    // The same publish has the same id on every stream.
    const byData = new Map(all.map((e) => [e.data, e.lastEventId]));
    for (const e of [...ea, ...eb]) assert.equal(e.lastEventId, byData.get(e.data), e.data);
    for (const c of [a, b, both]) c.close();
  });

  test('(a) Last-Event-ID of the 2nd of 5: 3..5 once, in order, then live', T, async () => {
    const p = ['p1', 'p2', 'p3', 'p4', 'p5'];
    const ids = await idsOf(srv, '?channel=ha', 'ha', p);
    const r = await openStream(srv.ssePort, '?channel=ha', { headers: { 'Last-Event-ID': ids[1] } });
    await r.waitEvents(3);
    assert.equal(r.body.toString(), reg('ha') + frame(ids[2], 'p3') + frame(ids[3], 'p4') + frame(ids[4], 'p5'));
    assert.equal(await publish(srv.respPort, 'ha', 'p6'), 1);
    const ev = await r.waitEvents(4);
    assert.deepEqual(ev.map((e) => e.data), ['p3', 'p4', 'p5', 'p6']);
    assertServerIds(ev.map((e) => e.lastEventId));
    assert.equal(r.body.toString(), reg('ha') + frame(ids[2], 'p3') + frame(ids[3], 'p4') + frame(ids[4], 'p5') + frame(ev[3].lastEventId, 'p6'));
    r.close();
    await waitNumsub(srv.respPort, 'ha', 0);

    // Published while nobody is subscribed: kept all the same.
    assert.equal(await publish(srv.respPort, 'ha', 'p7'), 0);
    assert.equal(await publish(srv.respPort, 'ha', 'p8'), 0);
    const r2 = await openStream(srv.ssePort, '?channel=ha', { headers: { 'Last-Event-ID': ev[3].lastEventId } });
    const ev2 = await r2.waitEvents(2);
    assert.deepEqual(ev2.map((e) => e.data), ['p7', 'p8']);
    assertServerIds([ev[3].lastEventId, ...ev2.map((e) => e.lastEventId)]);

    // The newest id: nothing to replay, live events only.
    const r3 = await openStream(srv.ssePort, '?channel=ha', { headers: { 'Last-Event-ID': ev2[1].lastEventId } });
    assert.equal(await publish(srv.respPort, 'ha', 'p9'), 2);
    assert.equal((await r2.waitEvents(3))[2].data, 'p9');
    const ev3 = await r3.waitEvents(1);
    assert.equal(r3.body.toString(), reg('ha') + frame(ev3[0].lastEventId, 'p9'));
    r2.close();
    r3.close();
  });

  test('no Last-Event-ID: no replay', T, async () => {
    await idsOf(srv, '?channel=fresh', 'fresh', ['old1', 'old2']);
    const s = await openStream(srv.ssePort, '?channel=fresh');
    assert.equal(await publish(srv.respPort, 'fresh', 'new'), 1);
    const ev = await s.waitEvents(1);
    assert.equal(s.body.toString(), reg('fresh') + frame(ev[0].lastEventId, 'new'));
    s.close();
  });

  test('(b) two channels, interleaved: one id resumes both, in publish order', T, async () => {
    const order = ['a1', 'b1', 'a2', 'x1', 'b2', 'a3', 'x2', 'b3'];   // x: a channel not asked for
    const s = await openStream(srv.ssePort, '?channel=ma,mb');
    for (const p of order) {
      const ch = { a: 'ma', b: 'mb', x: 'mx' }[p[0]];
      assert.equal(await publish(srv.respPort, ch, p), ch === 'mx' ? 0 : 1);
    }
    const seen = await s.waitEvents(6);
    assert.deepEqual(seen.map((e) => e.data), ['a1', 'b1', 'a2', 'b2', 'a3', 'b3']);
    const id = Object.fromEntries(seen.map((e) => [e.data, e.lastEventId]));
    s.close();
    await waitNumsub(srv.respPort, 'ma', 0);

    const r = await openStream(srv.ssePort, '?channel=ma,mb', { headers: { 'Last-Event-ID': id.a2 } });
    await r.waitEvents(3);
    assert.equal(r.body.toString(), reg('ma', 'mb') + frame(id.b2, 'b2') + frame(id.a3, 'a3') + frame(id.b3, 'b3'));
    // The other order of the channels in the request changes nothing.
    const r2 = await openStream(srv.ssePort, '?channel=mb,ma', { headers: { 'Last-Event-ID': id.b1 } });
    await r2.waitEvents(4);
    assert.equal(r2.body.toString(), reg('mb', 'ma') + frame(id.a2, 'a2') + frame(id.b2, 'b2') + frame(id.a3, 'a3') + frame(id.b3, 'b3'));
    // An id seen on one channel resumes another: the clock is the node's.
    const r3 = await openStream(srv.ssePort, '?channel=mb', { headers: { 'Last-Event-ID': id.a2 } });
    await r3.waitEvents(2);
    assert.equal(r3.body.toString(), reg('mb') + frame(id.b2, 'b2') + frame(id.b3, 'b3'));
    // Then live, once each.
    assert.equal(await publish(srv.respPort, 'ma', 'a4'), 2);
    assert.equal(await publish(srv.respPort, 'mb', 'b4'), 3);
    assert.deepEqual((await r.waitEvents(5)).map((e) => e.data), ['b2', 'a3', 'b3', 'a4', 'b4']);
    assert.deepEqual((await r2.waitEvents(6)).map((e) => e.data), ['a2', 'b2', 'a3', 'b3', 'a4', 'b4']);
    assert.deepEqual((await r3.waitEvents(3)).map((e) => e.data), ['b2', 'b3', 'b4']);
    for (const c of [r, r2, r3]) c.close();
  });

  test('(c) lastEventId and last_event_id in the query; the header wins over them', T, async () => {
    const ids = await idsOf(srv, '?channel=q', 'q', ['q1', 'q2', 'q3']);
    const a = await openStream(srv.ssePort, `?channel=q&lastEventId=${encodeURIComponent(ids[0])}`);
    const b = await openStream(srv.ssePort, `?last_event_id=${encodeURIComponent(ids[1])}&channel=q`);
    const c = await openStream(srv.ssePort, `?channel=q&lastEventId=${encodeURIComponent(ids[0])}`, { headers: { 'Last-Event-ID': ids[1] } });
    await a.waitEvents(2);
    await b.waitEvents(1);
    await c.waitEvents(1);
    assert.equal(a.body.toString(), reg('q') + frame(ids[1], 'q2') + frame(ids[2], 'q3'));
    assert.equal(b.body.toString(), reg('q') + frame(ids[2], 'q3'));
    assert.equal(c.body.toString(), reg('q') + frame(ids[2], 'q3'));
    assert.equal(await publish(srv.respPort, 'q', 'q4'), 3);
    for (const x of [a, b, c]) {
      assert.equal((await x.waitEvents(x.events.length + 1)).at(-1).data, 'q4');
      x.close();
    }
  });

  test('(e) an unknown id: one gap event (reason unknown), then all that is retained', T, async () => {
    const ids = await idsOf(srv, '?channel=hu1,hu2', 'hu1', ['u1', 'u2']);
    const future = `${Date.now() + 1000 * DAY}-0`;
    for (const x of ['bogus', 'we"ird\\', future, `${ids[1]}x`]) {
      const r = await openStream(srv.ssePort, '?channel=hu1,hu2', { headers: { 'Last-Event-ID': x } });
      const ev = await r.waitEvents(3);
      const b = blocks(r.body.toString());
      assert.match(b[0], GAP_NO_ID, `${x}: events follow, so the gap frame has no id: line`);
      assert.deepEqual(gapOf(ev[0]), {
        lastEventId: x,
        channels: [
          { channel: 'hu1', reason: 'unknown', lost: null },
          { channel: 'hu2', reason: 'unknown', lost: null },
        ],
      }, x);
      assert.deepEqual(ev.slice(1).map((e) => [e.data, e.lastEventId]), [['u1', ids[0]], ['u2', ids[1]]], x);
      assert.equal(r.body.toString().slice(reg('hu1', 'hu2').length + b[0].length + 2), frame(ids[0], 'u1') + frame(ids[1], 'u2'), x);
      r.close();
    }
  });

  test('a gap with nothing retained after it carries the newest id; resuming from it is no gap', T, async () => {
    const [newest] = await idsOf(srv, '?channel=gn-other', 'gn-other', ['elsewhere']);
    const r = await openStream(srv.ssePort, '?channel=gn-empty', { headers: { 'Last-Event-ID': 'bogus' } });
    const [ev] = await r.waitEvents(1);
    const b = blocks(r.body.toString());
    assert.equal(b.length, 1, r.body.toString());
    assert.equal(GAP_WITH_ID.exec(b[0])?.[1], newest, `the gap frame carries the newest id: ${JSON.stringify(b[0])}`);
    assert.deepEqual(gapOf(ev), { lastEventId: 'bogus', channels: [{ channel: 'gn-empty', reason: 'unknown', lost: null }] });
    assert.equal(ev.lastEventId, newest);
    r.close();
    await waitNumsub(srv.respPort, 'gn-empty', 0);
    const again = await openStream(srv.ssePort, '?channel=gn-empty', { headers: { 'Last-Event-ID': newest } });
    assert.equal(await publish(srv.respPort, 'gn-empty', 'live'), 1);
    const [live] = await again.waitEvents(1);
    assert.equal(again.body.toString(), reg('gn-empty') + frame(live.lastEventId, 'live'));
    again.close();
  });

  test('an empty Last-Event-ID (header or query) is no id: no gap, no replay', T, async () => {
    // WHATWG: a client whose last event ID string is empty sends no
    // Last-Event-ID; an empty one names no position either.
    await idsOf(srv, '?channel=hempty', 'hempty', ['h1']);
    for (const [q, opts] of [['?channel=hempty', { headers: { 'Last-Event-ID': '' } }], ['?channel=hempty&lastEventId=', {}]]) {
      const e = await openStream(srv.ssePort, q, opts);
      assert.equal(await publish(srv.respPort, 'hempty', 'h2'), 1);
      const ev = await e.waitEvents(1);
      assert.equal(e.body.toString(), reg('hempty') + frame(ev[0].lastEventId, 'h2'), q);
      e.close();
      await waitNumsub(srv.respPort, 'hempty', 0);
    }
  });

  test('INFO history: the # History section and its counters', T, async () => {
    const text = await infoText(srv.respPort, 'history');
    assert.match(text, /^# History\r\n/m);
    const f = infoFields(text);
    for (const k of ['history_entries', 'history_bytes', 'history_channels', 'history_evicted', 'history_gaps', 'history_replayed']) {
      assert.match(f[k] ?? '', /^\d+$/, `${k} in ${JSON.stringify(text)}`);
    }
    // The tests above replayed events, sent gap events, and kept channels.
    assert.ok(Number(f.history_replayed) > 0, text);
    assert.ok(Number(f.history_gaps) >= 4, text);
    assert.ok(Number(f.history_channels) >= 8, text);
    assert.ok(Number(f.history_entries) > 0 && Number(f.history_bytes) > 0, text);
    // INFO with no section has it too.
    assert.match(await infoText(srv.respPort, 'everything'), /\r\n# History\r\n/);
  });
});

// ---------------------------------------------------------------- eviction

describe('history: eviction with --history-size 3', () => {
  let srv;
  before(async () => { srv = await startJugglite({ args: ['--history-size', '3'] }); });
  after(async () => { await srv?.stop(); });

  test('(d) an evicted id: a gap event (reason evicted) first, then the 3 retained', T, async () => {
    const p = ['e1', 'e2', 'e3', 'e4', 'e5'];
    const ids = await idsOf(srv, '?channel=hs', 'hs', p);
    const r = await openStream(srv.ssePort, '?channel=hs', { headers: { 'Last-Event-ID': ids[0] } });
    const ev = await r.waitEvents(4);
    const b = blocks(r.body.toString());
    assert.match(b[0], GAP_NO_ID);
    const gap = gapOf(ev[0]);
    assert.equal(gap.lastEventId, ids[0]);
    assert.equal(gap.channels.length, 1, JSON.stringify(gap));
    assert.equal(gap.channels[0].channel, 'hs');
    assert.equal(gap.channels[0].reason, 'evicted');
    // e2 alone was lost, and e1 (the id resumed from) was the first evicted:
    // every drop after it was missed, so the count is exact (docs/history.md).
    assert.equal(gap.channels[0].lost, 1, JSON.stringify(gap));
    assert.equal(r.body.toString(), reg('hs') + b[0] + '\n\n' + frame(ids[2], 'e3') + frame(ids[3], 'e4') + frame(ids[4], 'e5'));
    assert.equal(await publish(srv.respPort, 'hs', 'e6'), 1);
    assert.deepEqual((await r.waitEvents(5)).slice(1).map((e) => e.data), ['e3', 'e4', 'e5', 'e6']);
    r.close();
  });

  test('the id of the last evicted event is no gap: nothing after it was lost', T, async () => {
    const ids = await idsOf(srv, '?channel=hs2', 'hs2', ['f1', 'f2', 'f3', 'f4', 'f5']);
    const r = await openStream(srv.ssePort, '?channel=hs2', { headers: { 'Last-Event-ID': ids[1] } });
    await r.waitEvents(3);
    assert.equal(r.body.toString(), reg('hs2') + frame(ids[2], 'f3') + frame(ids[3], 'f4') + frame(ids[4], 'f5'));
    r.close();
  });

  test('two channels, one evicted past the id: the gap names only that one', T, async () => {
    const s = await openStream(srv.ssePort, '?channel=g1,g2');
    await publishAll(srv.respPort, 'g2', ['k1'], 1);
    await publishAll(srv.respPort, 'g1', ['h1', 'h2', 'h3', 'h4', 'h5'], 1);
    await publishAll(srv.respPort, 'g2', ['k2'], 1);
    const seen = await s.waitEvents(7);
    const id = Object.fromEntries(seen.map((e) => [e.data, e.lastEventId]));
    s.close();
    await waitNumsub(srv.respPort, 'g1', 0);
    // From k1: h1 was lost on g1 (h2..h5 all newer, h3..h5 retained); g2 lost nothing.
    const r = await openStream(srv.ssePort, '?channel=g1,g2', { headers: { 'Last-Event-ID': id.h1 } });
    const ev = await r.waitEvents(5);
    const gap = gapOf(ev[0]);
    assert.equal(gap.lastEventId, id.h1);
    assert.deepEqual(gap.channels.map((c) => [c.channel, c.reason]), [['g1', 'evicted']]);
    assert.equal(gap.channels[0].lost, 1, JSON.stringify(gap));   // h2; h1 is where it resumed
    assert.deepEqual(ev.slice(1).map((e) => [e.data, e.lastEventId]),
      [['h3', id.h3], ['h4', id.h4], ['h5', id.h5], ['k2', id.k2]]);
    r.close();
  });
});

describe('history: a replay larger than the output limit', () => {
  let srv;
  before(async () => { srv = await startJugglite({ args: ['--obuf-hard', '64kb', '--obuf-soft', '0'] }); });
  after(async () => { await srv?.stop(); });

  // Half of --obuf-hard (32 KiB) is what a replay may take: the newest
  // events that fit come after a gap event (reason "output limit") for the
  // rest, and the stream lives -- instead of a cut at the limit on every
  // reconnect of a browser that missed more than that.
  test('the newest that fit half of --obuf-hard, a gap (output limit) for the rest; the stream stays', T, async () => {
    const p = Array.from({ length: 10 }, (_, i) => `${i}`.repeat(10 * 1024));
    const ids = await idsOf(srv, '?channel=big', 'big', p);
    const r = await openStream(srv.ssePort, '?channel=big', { headers: { 'Last-Event-ID': ids[0] } });
    const ev = await r.waitEvents(4);
    const gap = gapOf(ev[0]);
    assert.deepEqual(gap, { lastEventId: ids[0], channels: [{ channel: 'big', reason: 'output limit', lost: null }] });
    // 3 events of 10 KiB fit 32 KiB, a 4th would not
    assert.deepEqual(ev.slice(1).map((e) => e.lastEventId), ids.slice(7));
    assert.deepEqual(ev.slice(1).map((e) => e.data), p.slice(7));
    assert.equal(await publish(srv.respPort, 'big', 'live'), 1, 'still subscribed');
    assert.equal((await r.waitEvents(5))[4].data, 'live');
    // Within the budget: no gap, everything.
    const r2 = await openStream(srv.ssePort, '?channel=big', { headers: { 'Last-Event-ID': ids[8] } });
    const ev2 = await r2.waitEvents(2);
    assert.deepEqual(ev2.map((e) => e.data), [p[9], 'live']);
    r.close();
    r2.close();
  });
});

// ---------------------------------------------------------------- restart

describe('history: restart', () => {
  test('(f) an id from before a restart: gap reason restart, then what the new process kept', T, async () => {
    let srv = await startJugglite();
    const ids = await idsOf(srv, '?channel=rs1,rs2', 'rs1', ['before1', 'before2']);
    const { respPort, ssePort } = srv;
    assert.equal((await srv.stop()).code, 0);
    srv = await startJugglite({ respPort, ssePort });
    try {
      assert.equal(await publish(srv.respPort, 'rs1', 'after1'), 0);
      const r = await openStream(srv.ssePort, '?channel=rs1,rs2', { headers: { 'Last-Event-ID': ids[1] } });
      const ev = await r.waitEvents(2);
      const b = blocks(r.body.toString());
      assert.match(b[0], GAP_NO_ID);
      const gap = gapOf(ev[0]);
      assert.equal(gap.lastEventId, ids[1]);
      assert.deepEqual(gap.channels.map((c) => [c.channel, c.reason]), [['rs1', 'restart'], ['rs2', 'restart']]);
      for (const c of gap.channels) assert.ok(c.lost === null || Number.isInteger(c.lost), JSON.stringify(gap));
      assert.equal(ev[1].data, 'after1');
      assertServerIds([ev[1].lastEventId]);
      assert.equal(await publish(srv.respPort, 'rs2', 'after2'), 1);
      assert.deepEqual((await r.waitEvents(3)).slice(1).map((e) => e.data), ['after1', 'after2']);
      r.close();
    } finally {
      assert.equal((await srv.stop()).code, 0);
    }
  });

  test('--history-file: a clean restart resumes as if nothing happened; the file is read once', T, async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'jl-hist-'));
    const file = path.join(dir, 'history');
    try {
      let srv = await startJugglite({ args: ['--history-file', file] });
      const ids = await idsOf(srv, '?channel=hf', 'hf', ['k1', 'k2', 'k3']);
      const { respPort, ssePort } = srv;
      assert.equal((await srv.stop()).code, 0);
      assert.ok(existsSync(file), 'written on shutdown');
      srv = await startJugglite({ respPort, ssePort, args: ['--history-file', file] });
      try {
        // "listening" is logged before the file is read and removed: wait for both.
        await until(() => /history: 3 events from /.test(srv.stderr()), 'the history file read');
        await until(() => !existsSync(file), 'the history file removed once read');
        const r = await openStream(srv.ssePort, '?channel=hf', { headers: { 'Last-Event-ID': ids[0] } });
        await r.waitEvents(2);
        assert.equal(r.body.toString(), reg('hf') + frame(ids[1], 'k2') + frame(ids[2], 'k3'));
        assert.equal(await publish(srv.respPort, 'hf', 'k4'), 1);
        const ev = await r.waitEvents(3);
        assertServerIds([...ids, ev[2].lastEventId]);
        r.close();
      } finally {
        assert.equal((await srv.stop()).code, 0);
      }
      // Killed: no file is left, the next process announces the restart.
      // (Not under valgrind: a killed process leaves a log without a summary.)
      if (WRAPPED) return;
      srv = await startJugglite({ respPort, ssePort, args: ['--history-file', file] });
      const [k5] = await idsOf(srv, '?channel=hf', 'hf', ['k5']);
      srv.proc.kill('SIGKILL');
      await srv.stop();
      assert.ok(!existsSync(file), 'a killed process leaves no file');
      srv = await startJugglite({ respPort, ssePort, args: ['--history-file', file] });
      try {
        const r = await openStream(srv.ssePort, '?channel=hf', { headers: { 'Last-Event-ID': k5 } });
        const [ev] = await r.waitEvents(1);
        assert.deepEqual(gapOf(ev).channels.map((c) => [c.channel, c.reason]), [['hf', 'restart']]);
        r.close();
      } finally {
        await srv.stop();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

// ---------------------------------------------------------------- patterns

describe('history: channel and pattern on one stream', () => {
  let srv;
  before(async () => { srv = await startJugglite({ args: ['--allow-patterns'] }); });
  after(async () => { await srv?.stop(); });

  test('(g) ?channel=app:x&pattern=app:* gets each publish once, counted once', T, async () => {
    const s = await openStream(srv.ssePort, '?channel=app:x&pattern=app:*');
    const plain = await openStream(srv.ssePort, '?channel=app:x');
    assert.equal(await publish(srv.respPort, 'app:x', 'x1'), 2);
    assert.equal(await publish(srv.respPort, 'app:y', 'y1'), 1);
    assert.equal(await publish(srv.respPort, 'app:x', 'x2'), 2);
    assert.equal(await publish(srv.respPort, 'app:z', 'last'), 1);
    const ev = await s.waitEvents(4);
    await sleep(50);
    assert.deepEqual(s.events.map((e) => e.data), ['x1', 'y1', 'x2', 'last']);
    assertServerIds(ev.map((e) => e.lastEventId));
    assert.deepEqual((await plain.waitEvents(2)).map((e) => e.data), ['x1', 'x2']);
    for (const c of [s, plain]) c.close();
  });

  test('a pattern stream resumes every matching channel, once, in publish order', T, async () => {
    const s = await openStream(srv.ssePort, '?channel=pr:a&pattern=pr:*');
    const order = ['pr:a/1', 'pr:b/1', 'other/1', 'pr:a/2', 'pr:c/1', 'pr:b/2'];
    for (const p of order) {
      const ch = p.split('/')[0];
      assert.equal(await publish(srv.respPort, ch, p), ch === 'other' ? 0 : 1);
    }
    const seen = await s.waitEvents(5);
    assert.deepEqual(seen.map((e) => e.data), order.filter((p) => !p.startsWith('other')));
    s.close();
    await waitNumsub(srv.respPort, 'pr:a', 0);
    const id = Object.fromEntries(seen.map((e) => [e.data, e.lastEventId]));
    // Both resume from pr:b/1; each then gets one live event (the second
    // stream gets the first one's live event replayed).
    const missed = ['pr:a/2', 'pr:c/1', 'pr:b/2'];
    for (const [q, live] of [['?channel=pr:a&pattern=pr:*', 'pr:a/3'], ['?pattern=pr:*', 'pr:b/3']]) {
      const r = await openStream(srv.ssePort, q, { headers: { 'Last-Event-ID': id['pr:b/1'] } });
      const ev = await r.waitEvents(missed.length);
      assert.deepEqual(ev.map((e) => [e.data, e.lastEventId]), missed.map((p) => [p, id[p]]), q);
      assert.equal(await publish(srv.respPort, live.split('/')[0], live), 1);
      await r.waitEvents(missed.length + 1);
      await sleep(50);
      assert.deepEqual(r.events.map((e) => e.data), [...missed, live], q);
      assertServerIds(r.events.map((e) => e.lastEventId), q);
      id[live] = r.events.at(-1).lastEventId;
      missed.push(live);
      r.close();
      await waitNumsub(srv.respPort, 'pr:a', 0);
    }
  });

  test('a pattern stream with an unknown id: the gap names the pattern', T, async () => {
    const s1 = await openStream(srv.ssePort, '?pattern=pg:*');
    assert.equal(await publish(srv.respPort, 'pg:1', 'q1'), 1);
    await s1.waitEvents(1);
    s1.close();
    const r = await openStream(srv.ssePort, '?channel=pgc&pattern=pg:*', { headers: { 'Last-Event-ID': 'nope' } });
    const ev = await r.waitEvents(2);
    const gap = gapOf(ev[0]);
    assert.equal(gap.lastEventId, 'nope');
    assert.deepEqual(gap.channels.map((c) => [c.channel ?? c.pattern, c.reason, c.lost]),
      [['pgc', 'unknown', null], ['pg:*', 'unknown', null]]);
    assert.equal(ev[1].data, 'q1');
    r.close();
  });
});

// ---------------------------------------------------------------- long-poll

describe('history: long-poll', () => {
  let srv;
  before(async () => { srv = await startJugglite({ args: ['--longpoll-delay', '0.2'] }); });
  after(async () => { await srv?.stop(); });

  const XHR = (last) => ({ headers: { 'X-Requested-With': 'XMLHttpRequest', ...(last ? { 'Last-Event-ID': last } : {}) } });

  test('(h) a poll with Last-Event-ID gets what it missed, then closes; polls chain without loss', T, async () => {
    const ids = await idsOf(srv, '?channel=lp', 'lp', ['l1', 'l2', 'l3']);
    const r = await openStream(srv.ssePort, '?channel=lp', XHR(ids[0]));
    await r.waitClose(10000);
    assert.equal(r.body.toString(), reg('lp') + frame(ids[1], 'l2') + frame(ids[2], 'l3'));

    // A client that polls in a loop, with events published while no poll is open.
    let last = ids[2];
    const got = [];
    const want = [];
    for (let round = 0; round < 3; round++) {
      await waitNumsub(srv.respPort, 'lp', 0);
      const between = [`gap-${round}-a`, `gap-${round}-b`];
      await publishAll(srv.respPort, 'lp', between, 0);
      want.push(...between);
      const poll = await openStream(srv.ssePort, '?channel=lp', XHR(last));
      await poll.waitClose(10000);
      assertServerIds([last, ...poll.events.map((e) => e.lastEventId)]);
      got.push(...poll.events.map((e) => e.data));
      last = poll.events.at(-1).lastEventId;
    }
    assert.deepEqual(got, want);

    // Nothing missed: the poll waits for a live event.
    await waitNumsub(srv.respPort, 'lp', 0);
    const live = await openStream(srv.ssePort, '?channel=lp', XHR(last));
    assert.equal(await publish(srv.respPort, 'lp', 'live'), 1);
    await live.waitClose(10000);
    assert.deepEqual(live.events.map((e) => e.data), ['live']);
    assertServerIds([last, live.events[0].lastEventId]);
  });

  test('a poll told of a gap with nothing after it is not told again on the next poll', T, async () => {
    const first = await openStream(srv.ssePort, '?channel=lpg', XHR('nope'));
    await first.waitClose(10000);
    assert.equal(first.events.length, 1);
    const gap = gapOf(first.events[0]);
    assert.deepEqual(gap.channels, [{ channel: 'lpg', reason: 'unknown', lost: null }]);
    const last = first.events[0].lastEventId;
    assertServerIds([last]);
    await waitNumsub(srv.respPort, 'lpg', 0);
    const second = await openStream(srv.ssePort, '?channel=lpg', XHR(last));
    assert.equal(await publish(srv.respPort, 'lpg', 'next'), 1);
    await second.waitClose(10000);
    assert.deepEqual(second.events.map((e) => [e.type, e.data]), [['message', 'next']]);
  });

  test('a poll with an unknown id gets the gap event and what is retained', T, async () => {
    const ids = await idsOf(srv, '?channel=lpu', 'lpu', ['m1']);
    const r = await openStream(srv.ssePort, '?channel=lpu', XHR('nope'));
    await r.waitClose(10000);
    assert.deepEqual(gapOf(r.events[0]), { lastEventId: 'nope', channels: [{ channel: 'lpu', reason: 'unknown', lost: null }] });
    assert.deepEqual(r.events.slice(1).map((e) => [e.data, e.lastEventId]), [['m1', ids[0]]]);
  });
});

// ---------------------------------------------------------------- a real client through a drop

/** Until pred() holds, polling; a deadline, not a timing assertion. */

const lastEventIdSent = (req) => /\r\nlast-event-id: *([^\r]*)\r\n/i.exec(req)?.[1] ?? null;

describe('history: the eventsource npm client through a dropped connection', () => {
  let srv, px;
  before(async () => {
    srv = await startJugglite();
    px = await startProxy(srv.ssePort);
  });
  after(async () => { await px?.close(); await srv?.stop(); });

  test('(i) events published before, into and during the drop arrive once, in order', { timeout: 90000 }, async () => {
    const { EventSource } = await import('eventsource');
    const es = new EventSource(`http://127.0.0.1:${px.port}/stream?channel=esd`);
    const got = [];
    es.onmessage = (e) => got.push({ data: e.data, id: e.lastEventId });
    es.addEventListener('jugglite-gap', (e) => got.push({ gap: e.data }));
    const want = [];
    const pub = async (p, n) => { assert.equal(await publish(srv.respPort, 'esd', p), n, p); want.push(p); };
    try {
      await withTimeout(new Promise((r) => { es.onopen = r; }), 10000, 'eventsource open');
      await waitNumsub(srv.respPort, 'esd', 1);
      await pub('e1', 1);
      await pub('e2', 1);
      await until(() => got.length === 2, 'e1, e2');

      for (let cycle = 0; cycle < 2; cycle++) {
        const lastSeen = got.at(-1).id;
        // The connection dies without the server knowing: what it writes now is lost.
        px.blackhole();
        await pub(`c${cycle}-lost1`, 1);
        await pub(`c${cycle}-lost2`, 1);
        await until(() => px.swallowed().includes(`data: c${cycle}-lost2\n`), 'the server wrote into the dead connection');
        // Now it is gone; published while nobody is subscribed.
        px.hold();
        px.drop();
        await waitNumsub(srv.respPort, 'esd', 0);
        await pub(`c${cycle}-off1`, 0);
        await pub(`c${cycle}-off2`, 0);
        const before = px.accepted;
        px.release();
        await px.waitAccepted(before + 1, 30000);
        await waitNumsub(srv.respPort, 'esd', 1);
        assert.equal(lastEventIdSent(px.requests.at(-1)), lastSeen, `cycle ${cycle}: the reconnect's Last-Event-ID`);
        await until(() => got.length === want.length, `cycle ${cycle}: the replay (${JSON.stringify(got)})`);
        await pub(`c${cycle}-live`, 1);
        await until(() => got.length === want.length, `cycle ${cycle}: live after the replay`);
      }
      await pub('end', 1);
      await until(() => got.some((g) => g.data === 'end'), 'the last event');
      await sleep(50);
      assert.deepEqual(got.map((g) => g.data ?? g), want, 'every event once, in order, no gap event');
      assertServerIds(got.map((g) => g.id));
    } finally {
      es.close();
    }
  });
});

describe('history: headless Chromium through a dropped connection', { skip: chromiumPath() ? false : 'chromium not installed (apt-get install -y chromium)' }, () => {
  let srv, px, browser;
  before(async () => {
    srv = await startJugglite({ args: ['--history-size', '3'] });
    px = await startProxy(srv.ssePort);
    browser = await withTimeout(launchChromium({ args: ['--disable-quic', '--no-first-run'] }), 40000,
      'launch chromium');
  });
  after(async () => {
    await browser?.close().catch(() => {});
    await px?.close();
    await srv?.stop();
  });

  test('(j) EventSource: replay after a drop, then a jugglite-gap event when too much was missed', { timeout: 120000 }, async () => {
    const page = await browser.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(e.message));
    // Same origin as the stream: the page comes through the proxy too.
    await page.goto(`http://127.0.0.1:${px.port}/health`);
    await page.evaluate(() => {
      window.log = [];
      window.es = new EventSource('/stream?channel=cr');
      window.es.onmessage = (e) => window.log.push({ data: e.data, id: e.lastEventId });
      window.es.addEventListener('jugglite-gap', (e) => window.log.push({ gap: JSON.parse(e.data), id: e.lastEventId }));
      window.opened = new Promise((r) => { window.es.onopen = r; });
    });
    await withTimeout(page.evaluate(() => window.opened), 10000, 'EventSource open');
    await waitNumsub(srv.respPort, 'cr', 1);
    const log = () => page.evaluate(() => window.log);
    const pub = async (p, n) => assert.equal(await publish(srv.respPort, 'cr', p), n, p);
    const reconnect = async () => {
      const before = px.accepted;
      px.release();
      await px.waitAccepted(before + 1, 30000);
      await waitNumsub(srv.respPort, 'cr', 1);
    };

    await pub('1', 1);
    await pub('2', 1);
    await until(async () => (await log()).length === 2, 'events 1, 2');
    const id2 = (await log())[1].id;

    // Drop 1: one event into the dead connection, one while away: 3 kept, no gap.
    px.blackhole();
    await pub('3', 1);
    await until(() => px.swallowed().includes('data: 3\n'), 'the server wrote 3 into the dead connection');
    px.hold();
    px.drop();
    await waitNumsub(srv.respPort, 'cr', 0);
    await pub('4', 0);
    await reconnect();
    assert.equal(lastEventIdSent(px.requests.at(-1)), id2, 'the browser resumed from 2');
    await until(async () => (await log()).length === 4, 'the replay of 3, 4');
    await pub('5', 1);
    await until(async () => (await log()).length === 5, 'live 5');
    const id5 = (await log())[4].id;

    // Drop 2: five published while away, --history-size 3 keeps 8, 9, 10.
    px.hold();
    px.drop();
    await waitNumsub(srv.respPort, 'cr', 0);
    for (const p of ['6', '7', '8', '9', '10']) await pub(p, 0);
    await reconnect();
    assert.equal(lastEventIdSent(px.requests.at(-1)), id5, 'the browser resumed from 5');
    await until(async () => (await log()).length === 9, 'the gap event and 8, 9, 10');
    await pub('11', 1);
    await until(async () => (await log()).length === 10, 'live 11');
    await sleep(50);

    const got = await log();
    assert.deepEqual(got.map((g) => g.data ?? 'GAP'), ['1', '2', '3', '4', '5', 'GAP', '8', '9', '10', '11']);
    const gap = got[5];
    assert.equal(gap.gap.lastEventId, id5);
    assert.deepEqual(gap.gap.channels.map((c) => [c.channel, c.reason]), [['cr', 'evicted']]);
    // 6 and 7 were lost; 1 and 2 were dropped too, before 5, so the server
    // may not know how many of its drops came after 5: 2 or null.
    assert.ok(gap.gap.channels[0].lost === 2 || gap.gap.channels[0].lost === null, JSON.stringify(gap.gap));
    // The gap event has no id: the browser still holds 5's until 8 arrives.
    assert.equal(gap.id, id5);
    assertServerIds(got.filter((g) => g.data).map((g) => g.id));
    assert.equal(await page.evaluate(() => window.es.readyState), 1);
    assert.deepEqual(errors, []);
    await page.evaluate(() => window.es.close());
    await page.close();
  });
});

// ---------------------------------------------------------------- hostile: Last-Event-ID bytes

describe('history: hostile Last-Event-ID and channel bytes', () => {
  // Each case on a server of its own: one that kills the server must not
  // hide the others.
  const longUtf8 = Buffer.concat([Buffer.from('a'.repeat(255)), Buffer.from('é', 'utf8')]);
  const cases = [
    ['a header byte that is not UTF-8 (0xE9)', '/stream?channel=ha', Buffer.from('abc\xe9', 'latin1')],
    ['a UTF-8 id whose 256th byte splits a character', '/stream?channel=ha', longUtf8],
    ['a long id (8000 bytes)', '/stream?channel=ha', Buffer.from('a'.repeat(8000))],
    ['lastEventId=%FF in the query', '/stream?channel=ha&lastEventId=%FF', null],
    ['a channel name that is not UTF-8 (%FF), an unknown id', '/stream?channel=ha&channel=%FF', Buffer.from('bogus')],
  ];
  for (const [what, target, header] of cases) {
    test(`${what}: a gap event that is JSON, and the server lives`, T, async () => {
      const srv = await startJugglite();
      try {
        assert.equal(await publish(srv.respPort, 'ha', 'kept'), 0);
        const head = Buffer.concat([Buffer.from(`GET ${target} HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n`),
          header ? Buffer.concat([Buffer.from('Last-Event-ID: '), header, Buffer.from('\r\n')]) : Buffer.alloc(0),
          Buffer.from('\r\n')]);
        const r = await SseClient.open(srv.ssePort, target, { request: head });
        const ev = await r.waitEvents(2);
        assert.equal(r.status, 200);
        const gap = gapOf(ev[0]);
        assert.equal(typeof gap.lastEventId, 'string');
        assert.ok(gap.channels.length >= 1 && gap.channels.every((c) => c.reason === 'unknown'), JSON.stringify(gap));
        assert.equal(gap.channels[0].channel, 'ha');
        assert.equal(ev[1].data, 'kept');
        r.close();
        // Still serving: a fresh stream gets a live event.
        const s = await openStream(srv.ssePort, '?channel=after');
        assert.equal(await publish(srv.respPort, 'after', 'alive'), 1);
        assert.equal((await s.waitEvents(1))[0].data, 'alive');
        s.close();
      } finally {
        const res = await srv.stop();
        assert.equal(res.signal, null, `jugglite died of ${res.signal}`);
        assert.equal(res.code, 0);
      }
    });
  }
});

// ---------------------------------------------------------------- hostile: memory cap

describe('history: --history-memory under a flood of distinct channels', () => {
  // Under valgrind fewer channels, and a cap they still overfill with
  // their records alone, as 20,000 do 2 MiB.
  const CAP = scaled(2 * MiB, 2 * MiB, MiB / 4);
  const N = scaled(20000, 20000, 3000);
  let srv;
  before(async () => { srv = await startJugglite({ args: ['--history-memory', String(CAP)] }); });
  after(async () => {
    const r = await srv?.stop();
    assert.equal(r?.code, 0);
  });

  test(`(k) ${N} channels × 1 KiB: INFO history_bytes stays <= ${CAP}`, { timeout: 240000 }, async () => {
    const payload = 'x'.repeat(1024);
    const rss0 = rss(srv.proc.pid);
    const c = await RawClient.connect(srv.respPort);
    const BATCH = 500;
    let maxBytes = 0;
    try {
      for (let i = 0; i < N; i += BATCH) {
        const n = Math.min(BATCH, N - i);
        const cmds = [];
        for (let j = 0; j < n; j++) cmds.push(encode('PUBLISH', `flood:${i + j}`, payload));
        await c.send(Buffer.concat(cmds));
        const raw = await c.readUntil((buf) => (countFrames(buf) >= n ? true : undefined), 30000, `${n} replies`);
        const replies = decodeAll(raw);
        assert.equal(replies.length, n);
        assert.ok(replies.every((r) => r === 0), 'no receivers');
        const f = infoFields(await infoText(srv.respPort, 'history'));
        const bytes = Number(f.history_bytes);
        maxBytes = Math.max(maxBytes, bytes);
        assert.ok(bytes <= CAP, `after ${i + n} channels: history_bytes ${bytes} > ${CAP}`);
      }
    } finally { c.close(); }
    const f = infoFields(await infoText(srv.respPort, 'history'));
    assert.ok(Number(f.history_bytes) <= CAP, JSON.stringify(f));
    assert.ok(maxBytes > CAP / 2, `the cap was reached (max history_bytes ${maxBytes})`);
    assert.ok(Number(f.history_evicted) > 0, JSON.stringify(f));
    assert.ok(Number(f.history_entries) < N, JSON.stringify(f));
    const grown = rss(srv.proc.pid) - rss0;
    assert.ok(grown <= CAP + RSS_SLACK, `RSS grew by ${grown} bytes`);
  });

  test('after the flood the newest events are kept: the last channel resumes', T, async () => {
    const last = `flood:${N - 1}`;
    const r = await openStream(srv.ssePort, `?channel=${encodeURIComponent(last)}`, { headers: { 'Last-Event-ID': 'unknown-id' } });
    const ev = await r.waitEvents(1);
    assert.equal(gapOf(ev[0]).channels[0].reason, 'unknown');
    try {
      await r.waitEvents(2);
    } catch (e) {
      throw new Error(`the newest event of ${last} is not retained: ${r.body.toString()}\nINFO: ${await infoText(srv.respPort, 'history')}`);
    }
    assert.equal(r.events[1].data, 'x'.repeat(1024));
    r.close();
  });

  test('after the flood a fresh channel still keeps its events (the flood does not disable history)', T, async () => {
    const ids = await idsOf(srv, '?channel=victim', 'victim', ['v1', 'v2']);
    const r = await openStream(srv.ssePort, '?channel=victim', { headers: { 'Last-Event-ID': ids[0] } });
    try {
      await r.waitEvents(1);
    } catch (e) {
      throw new Error(`nothing replayed for victim: ${JSON.stringify(r.body.toString())}\nINFO: ${await infoText(srv.respPort, 'history')}`);
    }
    assert.equal(r.body.toString(), reg('victim') + frame(ids[1], 'v2'));
    r.close();
  });
});
