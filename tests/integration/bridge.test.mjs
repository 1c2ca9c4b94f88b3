// The upstream bridge against a real redis-server (Debian's 7.0) and against
// a jugglite hub: two nodes share channels through the upstream.
//
//   - redis-cli PUBLISH on Redis reaches SSE clients on both nodes;
//   - 10,000 messages PUBLISHed on node A's RESP port reach an SSE client on
//     A and one on B (and a RESP subscriber on B) exactly once, in order;
//   - patterns and shard channels across nodes, each delivered once;
//   - Redis killed and restarted: browsers stay connected, INFO and /health
//     report the outage, PUBLISH is refused with a clear error, and after the
//     reconnect messages flow again with no duplicate;
//   - requirepass with the password in the URL (and a wrong one);
//   - lingering upstream subscriptions;
//   - the same delivery and order checks with a jugglite hub as upstream.
//
// Every process is started on a free loopback port and stopped at the end.

import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startJugglite, startRedis, RawClient, SseClient, httpRequest, sleep, decodeAll, spawnTracked,
} from './lib/harness.mjs';

const T = { timeout: 90000 };
const N_ORDER = 10000;

// ---------------------------------------------------------------- helpers

function bridgedNode(upstreamUrl, extra = []) {
  return startJugglite({
    args: ['--upstream', upstreamUrl, '--upstream-backoff-min', '0.05',
      '--upstream-backoff-max', '0.4', '--allow-patterns', ...extra],
  });
}

async function command(port, ...args) {
  const c = await RawClient.connect(port);
  try {
    return decodeAll(await c.call(args))[0];
  } finally {
    c.close();
  }
}

async function info(port) {
  const text = String(await command(port, 'INFO', 'upstream'));
  const out = {};
  for (const line of text.split('\r\n')) {
    const i = line.indexOf(':');
    if (i > 0) out[line.slice(0, i)] = line.slice(i + 1);
  }
  return out;
}

async function waitFor(what, pred, ms = 10000, every = 25) {
  const deadline = Date.now() + ms;
  let last;
  for (;;) {
    last = await pred();
    if (last) return last;
    if (Date.now() > deadline) throw new Error(`timeout after ${ms} ms waiting for ${what}`);
    await sleep(every);
  }
}

/** Up, and every subscription confirmed (what /health calls healthy). */
const waitUp = (node, ms) => waitFor(`node ${node.respPort} upstream up`, async () => {
  const i = await info(node.respPort);
  return i.upstream_state === 'up' && i.upstream_unconfirmed === '0' ? i : null;
}, ms);

/** An SSE stream whose registration comment has arrived: from then on its
 *  subscriptions are confirmed upstream. */
async function openStream(port, query) {
  const c = await SseClient.open(port, `/stream?${query}`);
  await c.waitBody((t) => t.startsWith(': registered to channels:') && t.includes('\n'), 10000);
  return c;
}

async function respSubscriber(port, cmd, ...names) {
  const c = await RawClient.connect(port);
  await c.send([cmd, ...names]);
  await c.readFrames(names.length, 10000);
  return c;
}

/** Reads n RESP frames from c and decodes them (fast path for long runs). */
async function readValues(c, n, timeout = 30000) {
  const raw = await c.readFrames(n, timeout);
  return decodeAll(raw);
}

/** Pipelines n PUBLISH commands on one connection; returns their replies. */
async function publishRun(port, chan, n, prefix) {
  const c = await RawClient.connect(port);
  try {
    const parts = [];
    for (let i = 0; i < n; i++) {
      const p = `${prefix}${i}`;
      parts.push(`*3\r\n$7\r\nPUBLISH\r\n$${chan.length}\r\n${chan}\r\n$${p.length}\r\n${p}\r\n`);
    }
    await c.send(parts.join(''));
    // Each reply is one ":N\r\n" line; count lines instead of parsing 10k frames.
    const raw = await c.readUntil((b) => {
      let k = 0;
      for (let i = b.indexOf(10); i >= 0; i = b.indexOf(10, i + 1)) k++;
      return k >= n ? true : undefined;
    }, 60000, `${n} PUBLISH replies`);
    return raw.toString('latin1').split('\r\n').slice(0, n);
  } finally {
    c.close();
  }
}

function assertSequence(datas, n, prefix, who) {
  assert.equal(datas.length, n, `${who}: ${datas.length} messages, expected ${n}`);
  for (let i = 0; i < n; i++) {
    if (datas[i] !== `${prefix}${i}`) {
      assert.fail(`${who}: message ${i} is ${JSON.stringify(datas[i])}, expected ${prefix}${i} ` +
        `(neighbours: ${JSON.stringify(datas.slice(Math.max(0, i - 2), i + 3))})`);
    }
  }
}

async function redisCli(port, ...args) {
  const p = spawnTracked('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...args]);
  const r = await p.waitExit(10000);
  assert.equal(r.code, 0, `redis-cli ${args.join(' ')}: ${r.err}`);
  return r.out.trim();
}

/** Delivery and order checks shared by the Redis and the hub upstreams. */
function deliverySuite(name, startUpstream) {
  describe(name, () => {
    let up, a, b;
    before(async () => {
      up = await startUpstream();
      const url = `redis://127.0.0.1:${up.respPort}`;
      [a, b] = await Promise.all([bridgedNode(url), bridgedNode(url)]);
      await Promise.all([waitUp(a), waitUp(b)]);
    });
    after(async () => {
      const rs = await Promise.all([a?.stop(), b?.stop()]);
      await up?.stop();
      for (const r of rs) assert.equal(r?.code, 0, 'node exits cleanly (and LSan-clean)');
    });

    test(`${N_ORDER} messages published on node A reach SSE on A and B and RESP on B once, in order`, T, async () => {
      const [sa, sb] = await Promise.all([openStream(a.ssePort, 'channel=seq'), openStream(b.ssePort, 'channel=seq')]);
      const rb = await respSubscriber(b.respPort, 'SUBSCRIBE', 'seq');
      const replies = await publishRun(a.respPort, 'seq', N_ORDER, 'm');
      // The upstream counts its subscribers: one per node holding the channel.
      assert.ok(replies.every((r) => r === ':2'), `PUBLISH replies: ${[...new Set(replies)].join(' ')}`);
      await Promise.all([sa.waitEvents(N_ORDER, 60000), sb.waitEvents(N_ORDER, 60000)]);
      const msgs = await readValues(rb, N_ORDER, 60000);
      await sleep(300);   // anything extra (a duplicate) would arrive by now
      assertSequence(sa.events.map((e) => e.data), N_ORDER, 'm', 'SSE on A');
      assertSequence(sb.events.map((e) => e.data), N_ORDER, 'm', 'SSE on B');
      assert.ok(msgs.every((m) => m[0] === 'message' && m[1] === 'seq'));
      assertSequence(msgs.map((m) => m[2]), N_ORDER, 'm', 'RESP on B');
      assert.equal((await rb.readFor(50)).length, 0, 'no duplicate on the RESP subscriber');
      const ia = await info(a.respPort);
      assert.ok(Number(ia.upstream_messages_out) >= N_ORDER);
      assert.ok(Number(ia.upstream_messages_in) >= N_ORDER);
      assert.equal(ia.upstream_pending_replies, '0');
      sa.close(); sb.close(); rb.close();
    });

    test("a RESP3 client's own message follows its PUBLISH reply, as on one node", T, async () => {
      // Redis >= 7.2 order (docs/architecture.md): the reply, then the push,
      // whatever order the upstream itself sends them to the bridge in.
      const c = await RawClient.connect(a.respPort);
      await c.send(['HELLO', '3']);
      await c.readFrames(1, 10000);
      await c.send(['SUBSCRIBE', 'self-order']);
      await c.readFrames(1, 10000);
      await waitUp(a);
      await c.send(['PUBLISH', 'self-order', 'x']);
      const raw = (await c.readFrames(2, 10000)).toString('latin1');
      assert.equal(raw, ':1\r\n>3\r\n$7\r\nmessage\r\n$10\r\nself-order\r\n$1\r\nx\r\n');
      c.close();
    });

    test('patterns and shard channels work across nodes, each message once', T, async () => {
      const pb = await respSubscriber(b.respPort, 'PSUBSCRIBE', 'news.*');
      const sb = await openStream(b.ssePort, 'pattern=news.*');
      const both = await RawClient.connect(a.respPort);  // channel + matching pattern on A
      await both.send(['SUBSCRIBE', 'news.x']);
      await both.send(['PSUBSCRIBE', 'news.*']);
      await both.readFrames(2, 10000);
      const shard = await respSubscriber(b.respPort, 'SSUBSCRIBE', 'sh');
      await waitUp(a); await waitUp(b);

      // Upstream receivers: B's pattern, A's channel and A's pattern.
      assert.equal(await command(a.respPort, 'PUBLISH', 'news.x', 'p1'), 3);
      assert.deepEqual((await readValues(pb, 1))[0], ['pmessage', 'news.*', 'news.x', 'p1']);
      assert.equal((await sb.takeEvents(1, 10000))[0].data, 'p1');
      // Like Redis: a client with a channel and a matching pattern gets both.
      const two = await readValues(both, 2);
      assert.deepEqual(two, [['message', 'news.x', 'p1'], ['pmessage', 'news.*', 'news.x', 'p1']]);

      await command(a.respPort, 'SPUBLISH', 'sh', 's1');
      assert.deepEqual((await readValues(shard, 1))[0], ['smessage', 'sh', 's1']);
      await command(a.respPort, 'PUBLISH', 'sh', 'not-a-shard-message');
      await sleep(200);
      assert.equal((await pb.readFor(0)).length, 0, 'the pattern subscriber got nothing twice');
      assert.equal((await both.readFor(0)).length, 0);
      assert.equal((await shard.readFor(0)).length, 0, 'PUBLISH does not reach a shard channel');
      assert.equal(sb.events.length, 1);
      for (const c of [pb, sb, both, shard]) c.close();
    });
  });
}

// ---------------------------------------------------------------- Redis

deliverySuite('bridge through Redis', () => startRedis());
deliverySuite('bridge through a jugglite hub', () => startJugglite({ ssePort: null, args: ['--port', '-1'] }));

describe('bridge through Redis: redis-cli and SSE', () => {
  let redis, a, b;
  before(async () => {
    redis = await startRedis();
    const url = `redis://127.0.0.1:${redis.port}`;
    [a, b] = await Promise.all([bridgedNode(url), bridgedNode(url)]);
    await Promise.all([waitUp(a), waitUp(b)]);
  });
  after(async () => {
    const rs = await Promise.all([a?.stop(), b?.stop()]);
    await redis?.stop();
    for (const r of rs) assert.equal(r?.code, 0);
  });

  test('a message PUBLISHed on Redis with redis-cli reaches SSE clients on both nodes', T, async () => {
    const [sa, sb] = await Promise.all([openStream(a.ssePort, 'channel=news'), openStream(b.ssePort, 'channel=news')]);
    assert.equal(await redisCli(redis.port, 'PUBLISH', 'news', 'hello from redis-cli'), '2');
    const [ea, eb] = await Promise.all([sa.takeEvents(1, 10000), sb.takeEvents(1, 10000)]);
    assert.equal(ea[0].data, 'hello from redis-cli');
    assert.equal(eb[0].data, 'hello from redis-cli');
    // One upstream subscription per node, however many local subscribers.
    const sa2 = await openStream(a.ssePort, 'channel=news');
    assert.equal(await redisCli(redis.port, 'PUBSUB', 'NUMSUB', 'news'), 'news\n2');
    await redisCli(redis.port, 'PUBLISH', 'news', 'second');
    assert.equal((await sa2.takeEvents(1, 10000))[0].data, 'second');
    assert.equal((await sa.takeEvents(1, 10000))[0].data, 'second');
    await sleep(200);
    assert.equal(sa.events.length, 2);
    assert.equal(sb.events.length, 1 + 1);
    for (const c of [sa, sb, sa2]) c.close();
  });

  test('INFO upstream reports the bridge', T, async () => {
    const i = await info(a.respPort);
    assert.equal(i.upstream_state, 'up');
    assert.equal(i.upstream_host, `127.0.0.1:${redis.port}`);
    for (const k of ['upstream_reconnects', 'upstream_messages_in', 'upstream_messages_out',
      'upstream_channels', 'upstream_patterns', 'upstream_shard_channels', 'upstream_pending_replies']) {
      assert.match(i[k] ?? '', /^\d+$/, k);
    }
    const h = await httpRequest(a.ssePort, { path: '/health' });
    assert.equal(h.status, 200);
    assert.match(h.body.toString(), /"upstream":"up"/);
  });
});

describe('bridge: lingering upstream subscriptions', () => {
  let redis, a;
  before(async () => {
    redis = await startRedis();
    a = await bridgedNode(`redis://127.0.0.1:${redis.port}`, ['--upstream-linger', '0.6']);
    await waitUp(a);
  });
  after(async () => {
    const r = await a?.stop();
    await redis?.stop();
    assert.equal(r?.code, 0);
  });

  const numsub = async (ch) => Number((await redisCli(redis.port, 'PUBSUB', 'NUMSUB', ch)).split('\n')[1]);

  test('the upstream subscription outlives the last subscriber by the linger, and a reload keeps it', T, async () => {
    let s = await openStream(a.ssePort, 'channel=reload');
    assert.equal(await numsub('reload'), 1);
    s.close();
    await sleep(250);
    assert.equal(await numsub('reload'), 1, 'still held during the linger');
    assert.equal((await info(a.respPort)).upstream_lingering, '1');
    s = await openStream(a.ssePort, 'channel=reload');    // the page reloads
    await sleep(700);
    assert.equal(await numsub('reload'), 1, 'a re-subscribe cancelled the linger');
    await redisCli(redis.port, 'PUBLISH', 'reload', 'still here');
    assert.equal((await s.takeEvents(1, 10000))[0].data, 'still here');
    s.close();
    await waitFor('upstream UNSUBSCRIBE after the linger', async () => (await numsub('reload')) === 0, 5000);
    const i = await info(a.respPort);
    assert.equal(i.upstream_channels, '0');
    assert.equal(i.upstream_lingering, '0');
  });
});

describe('bridge: Redis killed and restarted', () => {
  let redis, a, b, port;
  before(async () => {
    redis = await startRedis();
    port = redis.port;
    const url = `redis://127.0.0.1:${port}`;
    [a, b] = await Promise.all([bridgedNode(url), bridgedNode(url)]);
    await Promise.all([waitUp(a), waitUp(b)]);
  });
  after(async () => {
    const rs = await Promise.all([a?.stop(), b?.stop()]);
    await redis?.stop();
    for (const r of rs) assert.equal(r?.code, 0);
  });

  test('browsers stay connected, the outage shows in INFO and /health, and messages flow again once', T, async () => {
    const [sa, sb] = await Promise.all([openStream(a.ssePort, 'channel=live'), openStream(b.ssePort, 'channel=live')]);
    const rb = await respSubscriber(b.respPort, 'SUBSCRIBE', 'live');
    const before1 = await publishRun(a.respPort, 'live', 100, 'a');
    assert.equal(before1.length, 100);
    await Promise.all([sa.waitEvents(100, 10000), sb.waitEvents(100, 10000)]);
    await readValues(rb, 100);

    redis.proc.kill('SIGKILL');
    await redis.stop();

    for (const n of [a, b]) {
      const i = await waitFor('state not up', async () => {
        const x = await info(n.respPort);
        return x.upstream_state !== 'up' ? x : null;
      }, 10000);
      assert.match(i.upstream_state, /^(down|connecting)$/);
      assert.notEqual(i.upstream_last_error, '');
      const h = await httpRequest(n.ssePort, { path: '/health' });
      assert.equal(h.status, 503, 'health answers 503 while the upstream is down');
      assert.match(h.body.toString(), /"upstream":"down"/);
    }
    const refused = await command(a.respPort, 'PUBLISH', 'live', 'lost');
    assert.ok(refused instanceof Error || /upstream unavailable/.test(String(refused)),
      `PUBLISH during the outage: ${refused}`);
    const raw = await (async () => {
      const c = await RawClient.connect(a.respPort);
      try { return (await c.call(['PUBLISH', 'live', 'lost'])).toString(); } finally { c.close(); }
    })();
    assert.equal(raw, `-ERR upstream unavailable: 127.0.0.1:${port} is not connected\r\n`);
    await sleep(600);   // several reconnect attempts, all failing
    assert.ok(!sa.closed && !sb.closed && !rb.closed, 'browsers and subscribers stay connected');

    redis = await startRedis({ port });
    await Promise.all([waitUp(a, 15000), waitUp(b, 15000)]);
    for (const n of [a, b]) {
      const h = await httpRequest(n.ssePort, { path: '/health' });
      assert.equal(h.status, 200);
      const i = await info(n.respPort);
      assert.equal(i.upstream_reconnects, '1');
      assert.equal(i.upstream_channels, '1');
    }
    const after1 = await publishRun(a.respPort, 'live', 100, 'b');
    assert.ok(after1.every((r) => r === ':2'), after1.slice(0, 3).join(' '));
    await redisCli(port, 'PUBLISH', 'live', 'c0');
    // 200 messages and, where the outage was, one gap event (a plain
    // PUBLISH made on Redis meanwhile could not be recovered).
    await Promise.all([sa.waitEvents(202, 10000), sb.waitEvents(202, 10000)]);
    const more = await readValues(rb, 101);
    await sleep(300);
    const expected = [...Array(100).keys()].map((i) => `a${i}`)
      .concat([...Array(100).keys()].map((i) => `b${i}`), ['c0']);
    for (const [name, s] of [['A', sa], ['B', sb]]) {
      const gaps = s.events.flatMap((e, i) => (e.type === 'jugglite-gap' ? [i] : []));
      assert.deepEqual(gaps, [100], `SSE on ${name}: one gap event, where the outage was`);
      assert.deepEqual(JSON.parse(s.events[100].data).channels,
        [{ channel: 'live', reason: 'upstream', lost: null }]);
      assert.deepEqual(s.events.filter((e) => e.type === 'message').map((e) => e.data), expected,
        `SSE on ${name}: nothing lost after the restart, nothing twice`);
    }
    assert.deepEqual(more.map((m) => m[2]), expected.slice(100));
    // One "lost" line per node, and one "up again": not one per retry.
    for (const n of [a, b]) {
      const log = n.output();
      assert.equal(log.match(/upstream \S+ lost:/g)?.length, 1, log);
      assert.equal(log.match(/upstream \S+ up again/g)?.length, 1, log);
    }
    for (const c of [sa, sb, rb]) c.close();
  });
});

describe('bridge: requirepass on Redis', () => {
  let redis, a, b, bad;
  const pass = 's3cr:t@pw';
  before(async () => {
    redis = await startRedis({ args: ['--requirepass', pass] });
    const enc = encodeURIComponent(pass);
    [a, b, bad] = await Promise.all([
      bridgedNode(`redis://:${enc}@127.0.0.1:${redis.port}`),
      bridgedNode(`redis://default:${enc}@127.0.0.1:${redis.port}`),
      bridgedNode(`redis://:wrong@127.0.0.1:${redis.port}`),
    ]);
    await Promise.all([waitUp(a), waitUp(b)]);
  });
  after(async () => {
    const rs = await Promise.all([a?.stop(), b?.stop(), bad?.stop()]);
    await redis?.stop();
    for (const r of rs) assert.equal(r?.code, 0);
  });

  test('credentials in the URL authenticate the bridge; messages cross nodes', T, async () => {
    const sb = await openStream(b.ssePort, 'channel=secret');
    assert.equal(await command(a.respPort, 'PUBLISH', 'secret', 'ok'), 1);
    assert.equal((await sb.takeEvents(1, 10000))[0].data, 'ok');
    const i = await info(a.respPort);
    assert.ok(!i.upstream_host.includes('s3cr'), 'the password is not shown in INFO');
    assert.ok(!a.output().includes('s3cr'), 'nor logged');
    sb.close();
  });

  test('a wrong password keeps the node down, says why once, and never crashes', T, async () => {
    await sleep(500);   // several attempts
    const i = await info(bad.respPort);
    assert.notEqual(i.upstream_state, 'up');
    assert.match(i.upstream_last_error, /WRONGPASS/);
    assert.equal((await httpRequest(bad.ssePort, { path: '/health' })).status, 503);
    assert.equal(bad.output().match(/WRONGPASS/g)?.length, 1, bad.output());
  });
});
