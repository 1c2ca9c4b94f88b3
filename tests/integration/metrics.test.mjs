// GET /metrics (--metrics), read the way an operator's scraper reads it:
//   - Prometheus's own parser (`promtool check metrics`, Debian's prometheus
//     package) accepts the exposition, lint included;
//   - the values match a known load: 3 SSE streams and 1 RESP subscriber on
//     one channel, 10 publishes (10 messages, 40 deliveries, 30 SSE events,
//     10 fan-out observations), and the gauges come back down when the
//     clients leave;
//   - off unless asked for (404); with --metrics-token-file only the bearer
//     of the token reads it, and the token never needs to be on argv;
//   - a bridged node says whether its upstream is up.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import {
  startJugglite, startRedis, jugglitePath, RawClient, SseClient, httpRequest, decodeAll, sleep,
  cleanupAll, spawnTracked, until,
} from './lib/harness.mjs';

after(cleanupAll);

const T = { timeout: 60000 };
const havePromtool = spawnSync('promtool', ['--version']).status === 0;

/** name{labels} -> value, from the exposition. */
function parse(text) {
  const m = new Map();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const sp = line.lastIndexOf(' ');
    m.set(line.slice(0, sp), Number(line.slice(sp + 1)));
  }
  return m;
}

async function scrape(port, headers = {}) {
  const r = await httpRequest(port, { path: '/metrics', headers });
  return { status: r.status, type: r.headers['content-type'], text: r.body.toString() };
}


describe('metrics: the exposition under a known load', () => {
  let srv;
  before(async () => { srv = await startJugglite({ args: ['--metrics'] }); });
  after(async () => { await srv?.stop(); });

  test('promtool accepts it; the counters match the load; gauges come back down', T, async () => {
    const streams = [];
    for (let i = 0; i < 3; i++) {
      const s = await SseClient.open(srv.ssePort, '/stream?channel=m');
      await s.waitBody((t) => t.includes('\n'));
      streams.push(s);
    }
    const sub = await RawClient.connect(srv.respPort);
    await sub.send(['SUBSCRIBE', 'm']);
    await sub.readFrames(1, 5000);
    const pub = await RawClient.connect(srv.respPort);
    for (let i = 0; i < 10; i++) assert.equal(decodeAll(await pub.call(['PUBLISH', 'm', `p${i}`]))[0], 4);
    await Promise.all(streams.map((s) => s.waitEvents(10, 5000)));

    const { status, type, text } = await scrape(srv.ssePort);
    assert.equal(status, 200);
    assert.match(type, /^text\/plain; version=0\.0\.4/);
    assert.ok(havePromtool, 'promtool is installed (scripts/deps.sh test installs prometheus)');
    const r = spawnSync('promtool', ['check', 'metrics'], { input: text });
    assert.equal(r.status, 0, `promtool: ${r.stdout}${r.stderr}`);
    assert.equal(`${r.stdout}${r.stderr}`.trim(), '', 'no lint complaint');
    const m = parse(text);
    assert.equal(m.get('jugglite_messages_published_total'), 10);
    assert.equal(m.get('jugglite_deliveries_total'), 40);
    assert.equal(m.get('jugglite_sse_events_sent_total'), 30);
    assert.equal(m.get('jugglite_sse_streams'), 3);
    assert.equal(m.get('jugglite_sse_streams_received_total'), 3);
    assert.equal(m.get('jugglite_connections{protocol="resp"}'), 2);
    assert.equal(m.get('jugglite_connections{protocol="http"}'), 4, 'three streams and this scrape');
    assert.equal(m.get('jugglite_subscribed_names{kind="channel"}'), 1);
    assert.equal(m.get('jugglite_subscribed_names{kind="pattern"}'), 0);
    assert.equal(m.get('jugglite_fanout_seconds_count'), 10);
    assert.equal(m.get('jugglite_fanout_seconds_bucket{le="+Inf"}'), 10);
    assert.ok(m.get('jugglite_fanout_seconds_sum') > 0);
    // cumulative buckets never decrease
    const buckets = [...m.entries()].filter(([k]) => k.startsWith('jugglite_fanout_seconds_bucket')).map(([, v]) => v);
    for (let i = 1; i < buckets.length; i++) assert.ok(buckets[i] >= buckets[i - 1], buckets.join(' '));
    // One observation per write that completes an event: each of the 4
    // subscribers writes each of the 10 events, perhaps two in one write.
    const ptw = m.get('jugglite_publish_to_write_seconds_count');
    assert.ok(ptw >= 10 && ptw <= 40, `publish-to-write observations: ${ptw}`);
    assert.equal(m.get('jugglite_publish_to_write_seconds_bucket{le="+Inf"}'), ptw);
    assert.ok(m.get('jugglite_publish_to_write_seconds_sum') > 0);
    assert.ok(m.get('jugglite_loop_busy_seconds_count') > 0, 'the loop histogram counts iterations');
    assert.equal(m.get('jugglite_loop_busy_seconds_bucket{le="+Inf"}'), m.get('jugglite_loop_busy_seconds_count'));
    assert.equal(m.get('jugglite_history_appended_total'), 10);
    assert.equal(m.get('jugglite_history_entries'), 10);
    assert.ok(m.get('jugglite_commands_processed_total') >= 11);
    assert.equal(m.get('jugglite_upstream_up'), undefined, 'no upstream series without --upstream');

    for (const s of streams) s.close();
    sub.close();
    pub.close();
    await until(async () => {
      const n = parse((await scrape(srv.ssePort)).text);
      return n.get('jugglite_sse_streams') === 0 && n.get('jugglite_connections{protocol="resp"}') === 0 &&
        n.get('jugglite_subscribed_names{kind="channel"}') === 0;
    }, 'the gauges back to 0');
  });

  test('HEAD and OPTIONS as for the other routes; POST is 405', T, async () => {
    assert.equal((await httpRequest(srv.ssePort, { path: '/metrics', method: 'HEAD' })).status, 200);
    const post = await httpRequest(srv.ssePort, { path: '/metrics', method: 'POST', body: '' });
    assert.equal(post.status, 405);
    assert.match(post.headers.allow, /GET, HEAD, OPTIONS/);
  });
});

describe('metrics: lifecycle events', () => {
  test('the lifecycle counters match the events a known load makes', T, async () => {
    const srv = await startJugglite({ args: ['--metrics', '--lifecycle-events'] });
    try {
      let m = parse((await scrape(srv.ssePort)).text);
      assert.equal(m.get('jugglite_lifecycle_events_total'), 0);
      // occupied x (node, cluster: one node is its cluster), connect (SSE);
      // occupied y (both), connect (RESP); then the RESP client's disconnect
      // and vacated y (both), the stream's disconnect and vacated x (both)
      const s = await SseClient.open(srv.ssePort, '/stream?channel=x');
      await s.waitBody((t) => t.includes('\n'));
      const r = await RawClient.connect(srv.respPort);
      await r.call(['SUBSCRIBE', 'y']);
      await until(async () => parse((await scrape(srv.ssePort)).text).get('jugglite_lifecycle_events_total') === 6, 'six events');
      // the live channel list the built-in page polls (browser_page checks the page)
      const doc = JSON.parse((await httpRequest(srv.ssePort, { path: '/channels' })).body.toString());
      assert.match(doc.node, /^[0-9a-f]{40}$/);
      assert.deepEqual([doc.channels, doc.patterns], [2, 0]);
      assert.deepEqual(doc.list.map((c) => [c.name, c.kind, c.subscribers, c.messages]).sort(),
        [['x', 'channel', 1, 0], ['y', 'channel', 1, 0]]);
      r.close();
      s.close();
      await until(async () => parse((await scrape(srv.ssePort)).text).get('jugglite_lifecycle_events_total') === 12, 'twelve events');
      m = parse((await scrape(srv.ssePort)).text);
      assert.equal(m.get('jugglite_lifecycle_events_dropped_total'), 0);
    } finally {
      await srv.stop();
    }
  });
});

describe('metrics: connections by transport, streams by HTTP version', () => {
  test('plain TCP, TLS and a unix socket; HTTP/1.1 and HTTP/2 streams', T, async () => {
    const { makeCerts } = await import('./lib/tls.mjs');
    const { freePort } = await import('./lib/harness.mjs');
    const tls = await import('node:tls');
    const http2 = await import('node:http2');
    const dir = mkdtempSync(path.join(os.tmpdir(), 'jl-metrics-tls-'));
    const certs = makeCerts(path.join(dir, 'certs'));
    const tlsPort = await freePort();
    const sock = path.join(dir, 'resp.sock');
    const srv = await startJugglite({
      args: ['--metrics', '--h2c', '--tls-port', String(tlsPort), '--tls-cert-file', certs.cert,
        '--tls-key-file', certs.key, '--resp-socket', sock],
      ready: [/RESP listening on (\S+):(\d+)/, /SSE listening on (\S+):(\d+)/, /SSE\/TLS listening/],
    });
    const open = [];
    try {
      const s1 = await SseClient.open(srv.ssePort, '/stream?channel=t');
      await s1.waitBody((t) => t.includes('\n'));
      open.push(s1);
      const session = http2.connect(`http://127.0.0.1:${srv.ssePort}`);
      open.push({ close: () => session.destroy() });
      const req = session.request({ ':path': '/stream?channel=t' });
      await new Promise((r) => req.once('data', r));
      const t = tls.connect({ port: tlsPort, host: '127.0.0.1', ca: readFileSync(certs.ca), servername: 'localhost' });
      open.push({ close: () => t.destroy() });
      await new Promise((r, j) => { t.once('secureConnect', r); t.once('error', j); });
      const u = net.connect(sock);
      open.push({ close: () => u.destroy() });
      await new Promise((r, j) => { u.once('connect', r); u.once('error', j); });
      await until(async () => {
        const m = parse((await scrape(srv.ssePort)).text);
        // tcp: the HTTP/1.1 stream, the h2c connection (its stream is not a socket) and this scrape
        return m.get('jugglite_connections_by_transport{transport="tcp"}') === 3 &&
          m.get('jugglite_connections_by_transport{transport="tls"}') === 1 &&
          m.get('jugglite_connections_by_transport{transport="unix"}') === 1 &&
          m.get('jugglite_sse_streams_by_protocol{protocol="http/1.1"}') === 1 &&
          m.get('jugglite_sse_streams_by_protocol{protocol="h2"}') === 1 &&
          m.get('jugglite_sse_streams') === 2;
      }, 'the counts by transport and by protocol', 30000);
      const r = spawnSync('promtool', ['check', 'metrics'], { input: (await scrape(srv.ssePort)).text });
      assert.equal(r.status, 0, `promtool: ${r.stdout}${r.stderr}`);
      for (const c of open) c.close();
      await until(async () => {
        const m = parse((await scrape(srv.ssePort)).text);
        return m.get('jugglite_sse_streams_by_protocol{protocol="h2"}') === 0 &&
          m.get('jugglite_connections_by_transport{transport="tls"}') === 0 &&
          m.get('jugglite_connections_by_transport{transport="unix"}') === 0;
      }, 'back to 0', 30000);
    } finally {
      for (const c of open) c.close();
      await srv.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('metrics: off by default, and behind a token', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'jl-metrics-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('without --metrics: 404', T, async () => {
    const srv = await startJugglite();
    try { assert.equal((await scrape(srv.ssePort)).status, 404); } finally { await srv.stop(); }
  });

  test('--metrics-token-file: 401 without the token, 200 with it', T, async () => {
    const file = path.join(dir, 'token');
    writeFileSync(file, 's3cret-metrics\n');
    const srv = await startJugglite({ args: ['--metrics', '--metrics-token-file', file] });
    try {
      const no = await scrape(srv.ssePort);
      assert.equal(no.status, 401);
      assert.equal((await scrape(srv.ssePort, { Authorization: 'Bearer wrong' })).status, 401);
      const yes = await scrape(srv.ssePort, { Authorization: 'Bearer s3cret-metrics' });
      assert.equal(yes.status, 200);
      assert.match(yes.text, /^jugglite_build_info\{version="[^"]+"\} 1$/m);
      assert.ok(!srv.output().includes('s3cret-metrics'), 'the token is not logged');
    } finally { await srv.stop(); }
  });

  test('an unreadable or empty token file: exit 2 with the reason, before listening', T, async () => {
    const empty = path.join(dir, 'empty');
    writeFileSync(empty, '\n');
    for (const [file, why] of [[path.join(dir, 'missing'), /No such file/], [empty, /first line is empty/]]) {
      const p = spawnTracked(jugglitePath(), ['--port', '0', '--resp-port', '0', '--address', '127.0.0.1',
        '--metrics', '--metrics-token-file', file]);
      const r = await p.waitExit(10000);
      assert.equal(r.code, 2);
      assert.match(r.err, why);
      assert.doesNotMatch(r.err, /listening/);
    }
  });
});

describe('metrics: a bridged node', () => {
  test('jugglite_upstream_up follows the link', T, async () => {
    const redis = await startRedis();
    const srv = await startJugglite({ args: ['--metrics', '--upstream', `redis://127.0.0.1:${redis.port}`,
      '--upstream-backoff-min', '0.05', '--upstream-backoff-max', '0.2'] });
    try {
      await until(async () => parse((await scrape(srv.ssePort)).text).get('jugglite_upstream_up') === 1, 'up');
      await redis.stop();
      await until(async () => parse((await scrape(srv.ssePort)).text).get('jugglite_upstream_up') === 0, 'down');
      const m = parse((await scrape(srv.ssePort)).text);
      assert.equal(m.get('jugglite_upstream_reconnects_total'), 0);
    } finally {
      await srv.stop();
    }
  });
});
