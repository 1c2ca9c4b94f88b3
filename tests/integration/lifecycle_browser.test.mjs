// lifecycle_browser.test.mjs -- --lifecycle-events as a real browser causes
// them. lifecycle.test.mjs drives each reason with Node clients that do
// exactly what the test tells them; here headless Chromium (Debian's
// /usr/bin/chromium, driven by playwright-core) opens real EventSources
// against the real binary, and ioredis on PSUBSCRIBE __jugglite__:*
// must see the exact sequence of events (connect, disconnect with reason,
// user, channels, protocol; occupied / vacated) for each way a browser's
// stream ends, each caused for real:
//   closed        the tab is closed (page.close());
//   killed        CLIENT KILL USER <the token's sub>; the EventSource then
//                 comes back by itself, as browsers do: a new connect, new id;
//                 and CLIENT KILL ID <the connect event's id>;
//   output limit  the whole Chromium process tree stopped (SIGSTOP) while
//                 32 KiB messages are published past --obuf-hard 64kb;
//                 after SIGCONT the EventSource reconnects by itself, with
//                 its Last-Event-ID, and gets the gap event;
//   token expired a JWT whose exp is seconds ahead; the browser's retry with
//                 the same, now expired, token is refused (401: the
//                 EventSource is CLOSED) and makes no connect;
//   shutdown      SIGTERM with a stream open: the watcher, a RESP client of
//                 the same server, reads the disconnect before its close.
// (There is no SSE idle timeout, by design: no such case.)
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startJugglite, RawClient, decodeAll, until, sleep, withTimeout, cleanupAll } from './lib/harness.mjs';
import { chromiumPath, launchChromium } from './lib/browser.mjs';
import { watchLifecycle } from './lib/lifecycle.mjs';

after(cleanupAll);
const VG = Boolean(process.env.JL_VALGRIND);
const WAIT = 30000; // a deadline for each wait, never a measured time
const CONNECT = '__jugglite__:connect';
const DISCONNECT = '__jugglite__:disconnect';

// One node is its own cluster: each occupancy change also comes as scope
// "cluster" (presence_bridged.test.mjs checks those); the sequences here
// are the node's.
// The watcher is ioredis, as an app would have it.
const watcher = (port) => watchLifecycle(port, { keep: (e) => e.scope !== 'cluster', timeout: WAIT, ioredis: true });

/** An event as compared: its node, peer and duration checked here and left
 *  out (they differ from run to run), an SSE disconnect's `events` count
 *  too when `keepCount` is false (how many a stopped reader took first). */
function norm(e, { keepCount = true } = {}) {
  const { node, peer, duration, ...rest } = e;
  assert.match(node, /^[0-9a-f]{40}$/, JSON.stringify(e));
  if (peer !== undefined) assert.match(peer, /^127\.0\.0\.1:\d+$/, JSON.stringify(e));
  if (duration !== undefined) assert.ok(typeof duration === 'number' && duration >= 0, JSON.stringify(e));
  if (!keepCount && rest.events !== undefined) {
    assert.ok(Number.isInteger(rest.events) && rest.events >= 0, JSON.stringify(e));
    delete rest.events;
  }
  return rest;
}

/** /proc/<pid>/stat's fields after the command: [state, ppid, pgrp, ...]. */
function statOf(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch { return null; }
}

/** Every pid of the Chromium this process launched: the browser is our
 *  child with playwright's --remote-debugging-pipe (playwright's client API
 *  has no browser.process(); it spawns the browser detached, as a group
 *  leader); its tree is that process group and its descendants by ppid. */
function chromiumTree() {
  const procs = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    const f = statOf(d);
    if (f) procs.push({ pid: Number(d), ppid: Number(f[1]), pgrp: Number(f[2]) });
  }
  const roots = procs.filter((p) => p.ppid === process.pid && (() => {
    try { return readFileSync(`/proc/${p.pid}/cmdline`, 'latin1').split('\0').includes('--remote-debugging-pipe'); } catch { return false; }
  })());
  assert.equal(roots.length, 1, `one Chromium launched by this process: ${JSON.stringify(roots)}`);
  const root = roots[0].pid;
  const tree = new Set([root]);
  for (const p of procs) if (p.pgrp === root) tree.add(p.pid);
  for (let grew = true; grew;) {
    grew = false;
    for (const p of procs) if (tree.has(p.ppid) && !tree.has(p.pid)) { tree.add(p.pid); grew = true; }
  }
  return [...tree];
}

/** Stopped (T), or gone. */
const stoppedOrGone = (pid) => { const f = statOf(pid); return f === null || f[0] === 'T'; };

function signalAll(pids, sig) {
  for (const pid of pids) { try { process.kill(pid, sig); } catch { /* gone */ } }
}

const exe = chromiumPath();

describe('lifecycle events of browser streams', { skip: exe ? false : 'chromium not installed (apt-get install -y chromium)' }, () => {
  let srv, browser, w, admin, dir, key;
  const barriers = new Set();
  let nBarrier = 0;

  before(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'jl-lifecycle-browser-'));
    key = crypto.randomBytes(32).toString('hex');
    writeFileSync(path.join(dir, 'hs.key'), `${key}\n`);
    srv = await startJugglite({ args: ['--lifecycle-events', '--token-key', path.join(dir, 'hs.key'), '--token-param', 'token',
      // The history stays on (the default): a browser cut at the output
      // limit comes back with its Last-Event-ID, and what it missed (up to
      // --history-bytes, 1 MiB) is more than 64 KiB: the replay must not cut
      // it again (it gets the newest that fit and the gap event instead).
      '--obuf-hard', '64kb', '--obuf-soft', '0', '--retry', '1000'] });
    w = await watcher(srv.respPort);
    admin = await RawClient.connect(srv.respPort);
    browser = await withTimeout(launchChromium({ args: ['--disable-quic', '--no-first-run'] }), 40000, 'launch chromium');
  });

  after(async () => {
    try { signalAll(chromiumTree(), 'SIGCONT'); } catch { /* none */ }
    await withTimeout(browser?.close() ?? Promise.resolve(), 15000, 'close chromium').catch(() => {});
    admin?.close();
    w?.close();
    await srv?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const token = (sub, exp) => {
    const b64 = (b) => Buffer.from(b).toString('base64url');
    const data = `${b64(JSON.stringify({ alg: 'HS256', typ: 'JWT' }))}.${b64(JSON.stringify({ sub, exp, jugglite: { subscribe: ['*'] } }))}`;
    return `${data}.${b64(crypto.createHmac('sha256', key).update(data).digest())}`;
  };

  const events = (pred) => w.got.filter(pred);
  const connects = (chan) => events((e) => e.channel === CONNECT && e.channels?.[0] === chan);
  const disconnectOf = (id) => events((e) => e.channel === DISCONNECT && e.client_id === id)[0];

  /** Events are published from the loop in order: a RESP subscriber's
   *  connect and disconnect, once the watcher has both, prove that every
   *  event of what happened before has reached it too. Its own events (and
   *  its channel's occupancy) are left out of what the cases compare. */
  async function barrier() {
    const name = `barrier-${++nBarrier}`;
    barriers.add(name);
    const c = await RawClient.connect(srv.respPort);
    const id = Number(decodeAll(await c.call(['CLIENT', 'ID'], WAIT))[0]);
    barriers.add(id);
    await c.send(['SUBSCRIBE', name]);
    await c.readFrames(1, WAIT);
    c.close();
    await until(() => w.got.some((e) => e.channel === DISCONNECT && e.client_id === id), `the ${name} disconnect`, WAIT);
  }
  const since = (mark, opts) => w.got.slice(mark).filter((e) => !barriers.has(e.client_id) && !barriers.has(e.name)).map((e) => norm(e, opts));

  /** A tab on the server's origin with an EventSource on url; resolves once
   *  it is open. window.opens counts its opens, window.named has its
   *  jugglite-token-expired and jugglite-gap events' data, window.got its
   *  messages' lengths and window.lastId the last one's id. */
  async function openStream(url) {
    const page = await browser.newPage();
    page.setDefaultTimeout(WAIT);
    await page.goto(`http://127.0.0.1:${srv.ssePort}/health`);
    await page.evaluate((u) => {
      window.opens = 0;
      window.named = [];
      window.got = [];
      window.es = new EventSource(u);
      window.es.onopen = () => { window.opens++; };
      window.es.onmessage = (e) => { window.got.push(e.data.length); window.lastId = e.lastEventId; };
      window.es.addEventListener('jugglite-token-expired', (e) => window.named.push(e.data));
      window.es.addEventListener('jugglite-gap', (e) => window.named.push(JSON.parse(e.data)));
    }, url);
    await page.waitForFunction(() => window.opens === 1, null, { timeout: WAIT });
    return page;
  }

  const occ = (name) => ({ channel: '__jugglite__:occupied', name, kind: 'channel', scope: 'node' });
  const vac = (name) => ({ channel: '__jugglite__:vacated', name, kind: 'channel', scope: 'node' });
  const conn = (id, channels, user = null) => ({ channel: CONNECT, client_id: id, user, channels, protocol: 'http/1.1' });
  const disc = (id, channels, reason, detail, user = null, more = {}) => ({ ...conn(id, channels, user), channel: DISCONNECT, reason, detail, ...more });

  /** Closes a case's tab even when the case failed, and waits for its
   *  streams' disconnects: the next case starts from a quiet server. */
  async function done(page, chan) {
    await page?.close().catch(() => {});
    await until(() => connects(chan).every((c) => disconnectOf(c.client_id)), `every ${chan} stream ended`, WAIT).catch(() => {});
  }

  test('closed: the tab is closed', { timeout: 120000 }, async () => {
    const mark = w.got.length;
    let page;
    try {
      page = await openStream('/stream?channel=tab');
      await until(() => connects('tab').length === 1, 'the connect', WAIT);
      const { client_id: id } = connects('tab')[0];
      await page.close();
      await until(() => disconnectOf(id), 'the disconnect', WAIT);
      await barrier();
      assert.deepEqual(since(mark), [
        occ('tab'),
        conn(id, ['tab']),
        disc(id, ['tab'], 'closed', 'closed by peer', null, { events: 0 }),
        vac('tab'),
      ]);
    } finally {
      await done(page, 'tab');
    }
  });

  // CLIENT KILL USER <a token's sub>: every stream opened with its tokens.
  test('killed: CLIENT KILL USER, then the EventSource comes back by itself', { timeout: 120000 }, async () => {
    const mark = w.got.length;
    let page;
    try {
      page = await openStream(`/stream?channel=k&token=${token('kim', Math.floor(Date.now() / 1000) + 3600)}`);
      await until(() => connects('k').length === 1, 'the connect', WAIT);
      const { client_id: id } = connects('k')[0];
      assert.equal(decodeAll(await admin.call(['CLIENT', 'KILL', 'USER', 'kim'], WAIT))[0], 1);
      await until(() => disconnectOf(id), 'the kill', WAIT);
      // No retry: came with the close: the browser waits its own default,
      // then reconnects with the same URL (the token is still good).
      await until(() => connects('k').length === 2, 'the browser reconnected', WAIT);
      const id2 = connects('k')[1].client_id;
      assert.notEqual(id2, id);
      await page.waitForFunction(() => window.opens === 2 && window.es.readyState === 1, null, { timeout: WAIT });
      await page.close();
      await until(() => disconnectOf(id2), 'the second stream closed', WAIT);
      await barrier();
      assert.deepEqual(since(mark), [
        occ('k'),
        conn(id, ['k'], 'kim'),
        disc(id, ['k'], 'killed', 'CLIENT KILL', 'kim', { events: 0 }),
        vac('k'),
        occ('k'),
        conn(id2, ['k'], 'kim'),
        disc(id2, ['k'], 'closed', 'closed by peer', 'kim', { events: 0 }),
        vac('k'),
      ]);
    } finally {
      await done(page, 'k');
    }
  });

  test('killed: CLIENT KILL ID <the connect event\'s id>', { timeout: 120000 }, async () => {
    let page;
    try {
      page = await openStream('/stream?channel=kid');
      await until(() => connects('kid').length === 1, 'the connect', WAIT);
      const { client_id: id } = connects('kid')[0];
      assert.equal(decodeAll(await admin.call(['CLIENT', 'KILL', 'ID', String(id)], WAIT))[0], 1, `CLIENT KILL ID ${id}`);
      await until(() => disconnectOf(id), 'the kill', WAIT);
      assert.equal(disconnectOf(id).reason, 'killed');
    } finally {
      await done(page, 'kid');
      await barrier();
    }
  });

  test('output limit: Chromium stopped while big messages are published', { timeout: 120000 }, async () => {
    const mark = w.got.length;
    let page;
    try {
      page = await openStream('/stream?channel=big');
      await until(() => connects('big').length === 1, 'the connect', WAIT);
      const { client_id: id } = connects('big')[0];
      const pids = chromiumTree();
      assert.ok(pids.length > 1, `Chromium's processes: ${pids}`);
      const big = 'z'.repeat(32 * 1024);
      let published = 0;
      try {
        signalAll(pids, 'SIGSTOP');
        await until(() => pids.every(stoppedOrGone), 'Chromium stopped', WAIT);
        // Until the server cuts the stream: PUBLISH finds no receiver (the
        // watcher may hear of it a little later).
        for (let receivers = 1; receivers === 1 && published < 4000 && !disconnectOf(id);) {
          receivers = decodeAll(await admin.call(['PUBLISH', 'big', big], WAIT))[0];
          if (receivers === 1) published++;
          else assert.ok(published > 0 && receivers === 0, `PUBLISH: ${receivers} receivers after ${published}`);
          if (published % 8 === 7) await sleep(10);
        }
        await until(() => disconnectOf(id), `the output limit (after ${published} messages)`, WAIT);
      } finally {
        signalAll(pids, 'SIGCONT');
      }
      // The browser reads what had reached its socket, finds the stream
      // ended and reconnects by itself.
      await until(() => connects('big').length === 2, 'the browser reconnected', WAIT);
      const id2 = connects('big')[1].client_id;
      await page.waitForFunction(() => window.opens === 2 && window.es.readyState === 1, null, { timeout: WAIT });
      const got = await page.evaluate(() => window.got);
      const [lastId, named] = await page.evaluate(() => [window.lastId, window.named]);
      assert.ok(got.length > 0 && got.length <= disconnectOf(id).events && got.every((n) => n === big.length),
        `the browser got ${got.length}, the server wrote ${disconnectOf(id).events} of ${published}`);
      // It resumed from the last event it had and was told what it lost:
      // 'evicted' when it missed more than the history keeps (1 MiB), else
      // 'output limit' (what it missed is more than half of --obuf-hard, so
      // the oldest were skipped); either way no second cut below.
      assert.equal(named.length, 1, JSON.stringify(named));
      assert.equal(named[0].lastEventId, lastId);
      assert.equal(named[0].channels.length, 1, JSON.stringify(named));
      assert.equal(named[0].channels[0].channel, 'big');
      assert.ok(['evicted', 'output limit'].includes(named[0].channels[0].reason), JSON.stringify(named));
      await page.close();
      await until(() => disconnectOf(id2), 'the second stream closed', WAIT);
      await barrier();
      assert.deepEqual(since(mark, { keepCount: false }), [
        occ('big'),
        conn(id, ['big']),
        disc(id, ['big'], 'output limit', 'output buffer limit'),
        vac('big'),
        occ('big'),
        conn(id2, ['big']),
        disc(id2, ['big'], 'closed', 'closed by peer'),
        vac('big'),
      ]);
      assert.ok(disconnectOf(id).events < published, JSON.stringify(disconnectOf(id)));
      assert.equal(disconnectOf(id2).events, 0);
    } finally {
      await done(page, 'big');
    }
  });

  test('token expired: the stream ends at exp, the retry with the same token is refused', { timeout: 120000 }, async () => {
    const mark = w.got.length;
    let page;
    try {
      const exp = Math.floor(Date.now() / 1000) + (VG ? 10 : 3);
      page = await openStream(`/stream?channel=e&token=${token('eve', exp)}`);
      await until(() => connects('e').length === 1, 'the connect', WAIT);
      const { client_id: id } = connects('e')[0];
      await until(() => disconnectOf(id), 'the expiry', WAIT);
      // The browser got the named event and the retry:, came back with the
      // same URL, was answered 401 and stopped for good: readyState CLOSED.
      await page.waitForFunction(() => window.es.readyState === 2, null, { timeout: WAIT });
      assert.deepEqual(await page.evaluate(() => [window.opens, window.named]), [1, [JSON.stringify({ exp })]]);
      await barrier();
      assert.deepEqual(since(mark), [
        occ('e'),
        conn(id, ['e'], 'eve'),
        disc(id, ['e'], 'token expired', 'token expired', 'eve', { events: 0 }),
        vac('e'),
      ]);
    } finally {
      await done(page, 'e');
    }
    await barrier();
    assert.equal(connects('e').length, 1, 'no connect for the expired token');
  });

  test('shutdown: SIGTERM with a stream open; the watcher reads the disconnect before its close', { timeout: 120000 }, async () => {
    const mark = w.got.length;
    let page;
    try {
      page = await openStream('/stream?channel=z');
      await until(() => connects('z').length === 1, 'the connect', WAIT);
      const { client_id: id } = connects('z')[0];
      const stopped = srv.stop({ graceMs: WAIT });
      await until(() => disconnectOf(id) || w.c.closed, 'the shutdown disconnect or the close', WAIT);
      const r = await stopped;
      assert.ok(disconnectOf(id), 'the watcher was closed before the shutdown disconnect reached it');
      await until(() => w.c.closed, 'the watcher closed by the shutdown', WAIT);
      assert.deepEqual([r.code, r.signal], [0, null]);
      assert.deepEqual(since(mark), [
        occ('z'),
        conn(id, ['z']),
        disc(id, ['z'], 'shutdown', 'shutdown', null, { events: 0 }),
      ]);
    } finally {
      await page?.close().catch(() => {});
    }
  });
});
