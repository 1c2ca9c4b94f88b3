// The history bridged nodes share (docs/history.md, "Bridged nodes"), with a
// real redis-server upstream, real nodes, real nginx and real clients:
//   - a publish through any node gets its id from the shared clock in Redis,
//     and every node's streams see the same id; a plain PUBLISH made on
//     Redis reaches browsers without one;
//   - a stream resumes on a node that never served it: the replay comes from
//     Redis, each event once, in order, then live (channels, patterns, an
//     overlap of both);
//   - the gap event when retention was exceeded, when the id is unknown, and
//     when Redis lost the history (restart);
//   - behind nginx, the eventsource npm client and headless Chromium ride
//     out their node's restart: they come back through nginx on the other
//     node with Last-Event-ID and miss nothing, see nothing twice;
//   - Redis killed and restarted under publishes: every publish a node
//     accepted reaches every node's streams once (the nodes catch up from
//     the shared history), after one gap event where the outage was.
// No wall-clock thresholds: waits have deadlines, nothing is timed.

import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  startJugglite, startRedis, freePort, RawClient, SseClient, decodeAll, sleep, withTimeout,
  spawnTracked, SOURCE_DIR, cleanupAll, httpRequest, until,
} from './lib/harness.mjs';
import { chromiumPath, launchChromium } from './lib/browser.mjs';
import { nginxConfig } from './lib/nginx.mjs';

after(cleanupAll);

const T = { timeout: 90000 };
const ID_RE = /^\d+-\d+$/;

// ---------------------------------------------------------------- helpers

function node(url, opts = {}) {
  return startJugglite({
    ssePort: opts.ssePort,
    args: ['--upstream', url, '--upstream-backoff-min', '0.05', '--upstream-backoff-max', '0.3',
      '--allow-patterns', '--retry', '300', ...(opts.args || [])],
  });
}

async function command(port, ...args) {
  const c = await RawClient.connect(port);
  try { return decodeAll(await c.call(args, 10000))[0]; } finally { c.close(); }
}

async function info(port) {
  const text = String(await command(port, 'INFO', 'upstream'));
  return Object.fromEntries(text.split('\r\n').filter((l) => l.includes(':')).map((l) => {
    const i = l.indexOf(':');
    return [l.slice(0, i), l.slice(i + 1)];
  }));
}


const up = (n) => until(async () => {
  const i = await info(n.respPort);
  return i.upstream_state === 'up' && i.upstream_unconfirmed === '0' && i.upstream_shared_history === 'yes';
}, `node ${n.respPort} up with the shared history`);

async function openStream(port, query, headers = {}) {
  const c = await SseClient.open(port, `/stream?${query}`, { headers });
  await c.waitBody((t) => t.startsWith(': registered to channels:') && t.includes('\n'), 10000);
  return c;
}

function idLess(a, b) {
  const [am, as] = a.split('-').map(BigInt);
  const [bm, bs] = b.split('-').map(BigInt);
  return am < bm || (am === bm && as < bs);
}

function assertIncreasing(ids, what) {
  for (const id of ids) assert.match(id, ID_RE, `${what}: ${id}`);
  for (let i = 1; i < ids.length; i++) assert.ok(idLess(ids[i - 1], ids[i]), `${what}: ${ids.join(' ')}`);
}

const messages = (events) => events.filter((e) => e.type === 'message');
const gapOf = (e) => {
  assert.equal(e.type, 'jugglite-gap', JSON.stringify(e));
  return JSON.parse(e.data);
};

// ------------------------------------------------- ids, replay, the gaps

describe('history, bridged: ids from the shared clock, resume on another node', () => {
  let redis, a, b;
  before(async () => {
    redis = await startRedis();
    const url = `redis://127.0.0.1:${redis.port}`;
    [a, b] = await Promise.all([node(url, { args: ['--history-size', '5'] }),
      node(url, { args: ['--history-size', '5'] })]);
    await Promise.all([up(a), up(b)]);
  });
  after(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    await redis?.stop();
  });

  test('one id per publish, the same on every node; a plain PUBLISH on Redis has none', T, async () => {
    const [sa, sb] = await Promise.all([openStream(a.ssePort, 'channel=ids'), openStream(b.ssePort, 'channel=ids')]);
    assert.equal(await command(a.respPort, 'PUBLISH', 'ids', 'via a'), 2);
    assert.equal(await command(b.respPort, 'PUBLISH', 'ids', 'via b'), 2);
    assert.equal(await command(redis.port, 'PUBLISH', 'ids', 'plain'), 2);
    const [ea, eb] = await Promise.all([sa.waitEvents(3, 10000), sb.waitEvents(3, 10000)]);
    assert.deepEqual(ea.map((e) => e.data), ['via a', 'via b', 'plain']);
    assert.deepEqual(ea.map((e) => e.lastEventId), eb.map((e) => e.lastEventId), 'the same ids on both nodes');
    assertIncreasing(ea.slice(0, 2).map((e) => e.lastEventId), 'ids');
    assert.ok(sa.body.toString('latin1').endsWith('\n\ndata: plain\n\n'), 'the plain publish has no id: line');
    // The shared history is Redis Streams, readable by any Redis client.
    const want = ea.slice(0, 2).map((e) => [e.lastEventId, ['data', e.data]]);
    assert.deepEqual(await command(redis.port, 'XRANGE', 'jugglite:h:ids', '-', '+'), want);
    // ... and each node's own copy, with the same commands on the channel.
    for (const n of [a, b]) assert.deepEqual(await command(n.respPort, 'XRANGE', 'ids', '-', '+'), want);
    sa.close();
    sb.close();
  });

  test('an application publishing straight on Redis with FCALL jugglite_publish gets ids too', T, async () => {
    const s = await openStream(a.ssePort, 'channel=app');
    const fcall = (p) => spawnTracked('redis-cli', ['-p', String(redis.port), 'FCALL', 'jugglite_publish', '0', 'app', p]).waitExit(10000);
    assert.equal((await fcall('f1')).out.trim(), '1');
    assert.equal((await fcall('f2')).out.trim(), '1');
    const ev = await s.waitEvents(2, 10000);
    assert.deepEqual(ev.map((e) => e.data), ['f1', 'f2']);
    assertIncreasing(ev.map((e) => e.lastEventId), 'FCALL ids');
    s.close();
    const r = await openStream(b.ssePort, 'channel=app', { 'Last-Event-ID': ev[0].lastEventId });
    assert.deepEqual((await r.waitEvents(1, 10000)).map((e) => e.data), ['f2']);
    r.close();
  });

  test('a stream resumes on a node that never served it: once, in order, then live', T, async () => {
    const sa = await openStream(a.ssePort, 'channel=r1,r2');
    for (const [ch, p] of [['r1', 'x1'], ['r2', 'y1'], ['r1', 'x2'], ['r2', 'y2']]) {
      assert.equal(await command(a.respPort, 'PUBLISH', ch, p), 1);
    }
    const seen = await sa.waitEvents(4, 10000);
    sa.close();
    const from = seen[0].lastEventId;
    // Published while the browser is away, on both nodes (node a's
    // upstream subscriptions linger: Redis may still count them).
    assert.ok(Number.isInteger(await command(b.respPort, 'PUBLISH', 'r2', 'y3')));
    assert.ok(Number.isInteger(await command(a.respPort, 'PUBLISH', 'r1', 'x3')));
    const sb = await openStream(b.ssePort, 'channel=r1,r2', { 'Last-Event-ID': from });
    const replay = await sb.waitEvents(5, 10000);
    assert.deepEqual(replay.map((e) => e.data), ['y1', 'x2', 'y2', 'y3', 'x3']);
    assertIncreasing(replay.map((e) => e.lastEventId), 'replayed ids');
    assert.deepEqual(replay.slice(0, 3).map((e) => e.lastEventId), seen.slice(1).map((e) => e.lastEventId));
    assert.ok((await command(a.respPort, 'PUBLISH', 'r1', 'live')) >= 1);
    const [live] = await sb.takeEvents(6, 10000).then((e) => e.slice(5));
    assert.equal(live.data, 'live');
    await sleep(100);
    assert.equal(sb.events.length, 6, 'nothing twice');
    sb.close();
  });

  test('a pattern resumes too, and a channel with an overlapping pattern gets each event once', T, async () => {
    const s = await openStream(a.ssePort, 'channel=app:x&pattern=app:*');
    assert.ok((await command(b.respPort, 'PUBLISH', 'app:x', 'p1')) >= 2, 'two upstream subscriptions of node a');
    assert.ok((await command(b.respPort, 'PUBLISH', 'app:y', 'p2')) >= 1);
    const got = await s.waitEvents(2, 10000);
    await sleep(100);
    assert.deepEqual(s.events.map((e) => e.data), ['p1', 'p2'], 'once per stream, with one id');
    s.close();
    await command(b.respPort, 'PUBLISH', 'app:z', 'p3');
    const r = await openStream(b.ssePort, 'pattern=app:*', { 'Last-Event-ID': got[0].lastEventId });
    const replay = await r.waitEvents(2, 10000);
    assert.deepEqual(replay.map((e) => e.data), ['p2', 'p3']);
    r.close();
  });

  test('the gap event: retention exceeded, an unknown id, the history lost in Redis', T, async () => {
    const s = await openStream(a.ssePort, 'channel=g');
    assert.ok((await command(a.respPort, 'PUBLISH', 'g', 'g0')) >= 1);
    const [first] = await s.waitEvents(1, 10000);
    s.close();
    for (let i = 1; i <= 8; i++) await command(b.respPort, 'PUBLISH', 'g', `g${i}`);
    // --history-size 5: g4..g8 kept, g1..g3 gone.
    const ev = await (await openStream(b.ssePort, 'channel=g', { 'Last-Event-ID': first.lastEventId })).waitEvents(6, 10000);
    assert.deepEqual(gapOf(ev[0]), { lastEventId: first.lastEventId, channels: [{ channel: 'g', reason: 'evicted', lost: null }] });
    assert.deepEqual(ev.slice(1).map((e) => e.data), ['g4', 'g5', 'g6', 'g7', 'g8']);

    const unk = await (await openStream(a.ssePort, 'channel=g', { 'Last-Event-ID': 'not-an-id' })).waitEvents(6, 10000);
    assert.equal(gapOf(unk[0]).channels[0].reason, 'unknown');
    assert.deepEqual(unk.slice(1).map((e) => e.data), ['g4', 'g5', 'g6', 'g7', 'g8'], 'then what is retained');

    // Redis loses everything (a restart without persistence looks the same).
    await command(redis.port, 'FLUSHALL');
    const wiped = await (await openStream(a.ssePort, 'channel=g', { 'Last-Event-ID': ev[5].lastEventId })).waitEvents(1, 10000);
    assert.equal(gapOf(wiped[0]).channels[0].reason, 'restart');
    // A new history starts with the next publish.
    const s2 = await openStream(b.ssePort, 'channel=g');
    assert.ok((await command(a.respPort, 'PUBLISH', 'g', 'new')) >= 1);
    const [fresh] = await s2.waitEvents(1, 10000);
    assert.match(fresh.lastEventId, ID_RE);
    s2.close();
  });
});

// ------------------------------------------------- a node restart behind nginx

/** The example's /stream location behind an upstream that names one node and
 *  the other as backup, so that the browsers are on the node that restarts. */
function clusterConfig(dir, listen, primary, backup) {
  const example = readFileSync(path.join(SOURCE_DIR, 'docs/examples/nginx-cluster.conf'), 'utf8');
  const loc = /location = \/stream \{[\s\S]*?\n    \}/.exec(example);
  assert.ok(loc, 'the example has a /stream location');
  return nginxConfig(`  upstream jugglite_sse {
    server 127.0.0.1:${primary} max_fails=1 fail_timeout=1s;
    server 127.0.0.1:${backup} backup;
  }
  server {
    listen 127.0.0.1:${listen};
    ${loc[0]}
    location = /health { proxy_pass http://jugglite_sse/health; }
  }`, dir, { errorLog: 'error' });
}

describe('history, bridged: a node restarts behind nginx', () => {
  let redis, a, b, nginx, ngPort, aPort, dir, browser;
  before(async () => {
    redis = await startRedis();
    const url = `redis://127.0.0.1:${redis.port}`;
    [a, b] = await Promise.all([node(url), node(url)]);
    aPort = a.ssePort;      // the restart takes the same port
    await Promise.all([up(a), up(b)]);
    ngPort = await freePort();
    dir = mkdtempSync(path.join(os.tmpdir(), 'jl-hist-nginx-'));
    writeFileSync(path.join(dir, 'nginx.conf'), clusterConfig(dir, ngPort, aPort, b.ssePort));
    nginx = spawnTracked('nginx', ['-p', dir, '-c', path.join(dir, 'nginx.conf')]);
    await until(async () => (await httpRequest(ngPort, { path: '/health' }).catch(() => ({}))).status === 200, 'nginx');
    if (chromiumPath()) browser = await withTimeout(launchChromium({ args: ['--no-first-run'] }), 40000, 'chromium');
  });
  after(async () => {
    await browser?.close().catch(() => {});
    await nginx?.stop();
    await Promise.all([a?.stop(), b?.stop()]);
    await redis?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('eventsource and Chromium come back on the other node and miss nothing', T, async () => {
    const { EventSource } = await import('eventsource');
    const es = new EventSource(`http://127.0.0.1:${ngPort}/stream?channel=deploy`);
    const got = [];
    es.onmessage = (e) => got.push({ data: e.data, id: e.lastEventId });
    es.addEventListener('jugglite-gap', (e) => got.push({ gap: e.data }));
    let page;
    const browserLog = async () => (page ? page.evaluate(() => window.log) : null);
    if (browser) {
      page = await browser.newPage();
      await page.goto(`http://127.0.0.1:${ngPort}/health`);
      await page.evaluate(() => {
        window.log = [];
        const es = new EventSource('/stream?channel=deploy');
        window.state = [];
        es.onopen = () => window.state.push('open');
        es.onerror = () => window.state.push(`error:${es.readyState}`);
        es.onmessage = (e) => window.log.push({ data: e.data, id: e.lastEventId });
        es.addEventListener('jugglite-gap', (e) => window.log.push({ gap: e.data }));
      });
    }
    const clients = page ? 2 : 1;
    const sent = [];
    const pub = async (port, p) => {
      const r = await command(port, 'PUBLISH', 'deploy', p);
      assert.ok(Number.isInteger(r), `PUBLISH ${p}: ${r}`);
      sent.push(p);
      return r;
    };
    try {
      await until(async () => (await command(a.respPort, 'INFO', 'jugglite')).includes(`sse_connected_streams:${clients}\r\n`) &&
        (await command(redis.port, 'PUBSUB', 'NUMSUB', 'deploy'))[1] === 1, 'both clients on node a, subscribed upstream');
      await until(async () => (await pub(b.respPort, `before${sent.length}`)) >= 1 && sent.length >= 3, 'published before');
      // The node restarts (a deploy): SIGTERM, then the same port again.
      const stopped = a.stop();
      for (let i = 0; i < 5; i++) await pub(b.respPort, `during${i}`);
      await stopped;
      for (let i = 5; i < 10; i++) await pub(b.respPort, `during${i}`);
      await until(async () => (await command(b.respPort, 'INFO', 'jugglite')).includes('sse_connected_streams:' + clients),
        'the clients reconnected through nginx to node b').catch(async (e) => {
        throw new Error(`${e.message}: ${String(await command(b.respPort, 'INFO', 'jugglite')).match(/sse_connected_streams:\d+/)} ` +
          `got ${JSON.stringify(got)} nginx: ${nginx.err()}`);
      });
      a = await node(`redis://127.0.0.1:${redis.port}`, { ssePort: aPort });
      await up(a);
      for (let i = 0; i < 3; i++) await pub(a.respPort, `after${i}`);
      await until(() => got.length >= sent.length, `eventsource got ${got.length} of ${sent.length}`);
      if (page) {
        await until(async () => (await browserLog()).length >= sent.length, 'chromium got them all').catch(async (e) => {
          throw new Error(`${e.message}: sent ${sent.join(' ')}; chromium ${JSON.stringify(await browserLog())}; ` +
            `state ${await page.evaluate(() => window.state)}; nginx ${nginx.err()}`);
        });
      }
      await sleep(200);
      for (const [who, log] of [['eventsource', got], ['chromium', await browserLog()]]) {
        if (log === null) continue;
        assert.deepEqual(log.map((g) => g.data ?? g), sent, `${who}: every event once, in order, no gap`);
        assertIncreasing(log.map((g) => g.id), `${who} ids`);
      }
    } finally {
      es.close();
      await page?.close();
    }
  });
});

// ------------------------------------------------- Redis killed and restarted

describe('history, bridged: Redis killed and restarted under publishes', () => {
  let redis, nodes, port;
  before(async () => {
    redis = await startRedis();
    port = redis.port;
    const url = `redis://127.0.0.1:${port}`;
    nodes = await Promise.all([node(url), node(url), node(url)]);
    await Promise.all(nodes.map(up));
  });
  after(async () => {
    await Promise.all(nodes.map((n) => n?.stop()));
    await redis?.stop();
  });

  test('every accepted publish reaches every node\'s streams once, after one gap event', T, async () => {
    const streams = await Promise.all(nodes.map((n) => openStream(n.ssePort, 'channel=storm')));
    const accepted = [];
    for (let i = 0; i < 5; i++) {
      assert.equal(await command(nodes[0].respPort, 'PUBLISH', 'storm', `a${i}`), 3);
      accepted.push(`a${i}`);
    }
    await Promise.all(streams.map((s) => s.waitEvents(5, 10000)));
    redis.proc.kill('SIGKILL');
    await redis.stop();
    await until(async () => (await info(nodes[0].respPort)).upstream_state !== 'up', 'node 0 saw the loss');
    redis = await startRedis({ port });
    // Publish at once, from every node in turn, while the others may still
    // be reconnecting: what a node accepts must reach all of them.
    let refused = 0;
    for (let i = 0; accepted.length < 45 && i < 2000; i++) {
      const n = nodes[i % 3];
      const r = await command(n.respPort, 'PUBLISH', 'storm', `b${i}`);
      if (Number.isInteger(r)) accepted.push(`b${i}`);
      else refused++;
      await sleep(5);
    }
    await Promise.all(nodes.map(up));
    const total = accepted.length + 1;
    await Promise.all(streams.map((s) => s.waitEvents(total, 20000)));
    await sleep(300);
    streams.forEach((s, k) => {
      const gaps = s.events.flatMap((e, i) => (e.type === 'jugglite-gap' ? [i] : []));
      assert.deepEqual(gaps, [5], `node ${k}: one gap event, where the outage was`);
      assert.deepEqual(gapOf(s.events[5]).channels, [{ channel: 'storm', reason: 'upstream', lost: null }]);
      assert.deepEqual(messages(s.events).map((e) => e.data), accepted,
        `node ${k}: every accepted publish once, in order (${refused} refused while down)`);
      assertIncreasing(messages(s.events).map((e) => e.lastEventId), `node ${k} ids`);
    });
    for (const s of streams) s.close();
  });
});
