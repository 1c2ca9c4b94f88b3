// The three-node example of docs/deployment.md ("Several nodes"), run for
// real: docs/examples/run-cluster.sh starts Redis with redis.conf (ACL user
// 'jugglite', pub/sub only), three bridged jugglite nodes, and nginx with
// nginx-cluster.conf, all on free loopback ports. Browsers connected through
// nginx land on different nodes and all get a message published on Redis;
// then Redis goes away and comes back, as the document describes.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import os from 'node:os';
import { mkdtempSync, rmSync } from 'node:fs';
import {
  freePort, jugglitePath, RawClient, SseClient, httpRequest, spawnTracked, sleep, decodeAll,
  SOURCE_DIR,
} from './lib/harness.mjs';

const EXAMPLES = path.join(SOURCE_DIR, 'docs', 'examples');
const PASS = 'jugglite-demo-password';   // the one in docs/examples/redis.conf

async function command(port, ...args) {
  const c = await RawClient.connect(port);
  try {
    return decodeAll(await c.call(args))[0];
  } finally {
    c.close();
  }
}

async function info(port, section) {
  return String(await command(port, 'INFO', section));
}

async function waitFor(what, pred, ms = 15000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const r = await pred().catch(() => null);
    if (r) return r;
    if (Date.now() > deadline) throw new Error(`timeout waiting for ${what}`);
    await sleep(50);
  }
}

test('docs/examples: three nodes behind nginx with one Redis', { timeout: 120000 }, async () => {
  const ports = {};
  for (const k of ['nginx', 'redis', 's1', 's2', 's3', 'r1', 'r2', 'r3']) ports[k] = await freePort();
  const sse = [ports.s1, ports.s2, ports.s3];
  const resp = [ports.r1, ports.r2, ports.r3];
  const script = spawnTracked('bash', [path.join(EXAMPLES, 'run-cluster.sh')], {
    env: {
      ...process.env, JUGGLITE: jugglitePath(), NGINX_PORT: String(ports.nginx),
      REDIS_PORT: String(ports.redis), SSE_PORTS: sse.join(' '), RESP_PORTS: resp.join(' '),
    },
  });
  const pids = () => [...script.out().matchAll(/ pid (\d+)/g)].map((m) => Number(m[1]));
  after(async () => {
    await script.stop(5000);
    for (const pid of pids()) { try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ } }
  });
  await script.waitStdout(/ready:/, 20000);
  for (const p of resp) {
    await waitFor(`node ${p} up`, async () => /upstream_state:up/.test(await info(p, 'upstream')));
  }
  await waitFor('nginx', async () => (await httpRequest(ports.nginx, { path: '/jugglite/health' })).status === 200);

  // Three browsers through nginx: least_conn spreads them over the nodes.
  const browsers = [];
  for (let i = 0; i < 3; i++) {
    const b = await SseClient.open(ports.nginx, '/stream?channel=news');
    await b.waitComments(1, 10000);
    browsers.push(b);
  }
  const perNode = await Promise.all(resp.map(async (p) => Number((await info(p, 'jugglite')).match(/sse_connected_streams:(\d+)/)[1])));
  assert.deepEqual(perNode, [1, 1, 1], `streams per node: ${perNode}`);

  // Published on Redis by the application, as the ACL user of the example.
  const cli = spawnTracked('redis-cli', ['-p', String(ports.redis), '--user', 'jugglite', '--pass', PASS,
    '--no-auth-warning', 'PUBLISH', 'news', 'to every node']);
  const r = await cli.waitExit(10000);
  assert.equal(r.out.trim(), '3', 'Redis counts one subscription per node');
  for (const b of browsers) assert.equal((await b.takeEvents(1, 10000))[0].data, 'to every node');
  // ... or on any node's RESP port: same result, same order everywhere.
  assert.equal(await command(resp[1], 'PUBLISH', 'news', 'via node 2'), 3);
  for (const b of browsers) assert.equal((await b.takeEvents(1, 10000))[0].data, 'via node 2');

  // Redis goes away.
  const redisPid = Number(script.out().match(/redis pid (\d+)/)[1]);
  process.kill(redisPid, 'SIGKILL');
  for (const p of resp) {
    await waitFor(`node ${p} down`, async () => !/upstream_state:up/.test(await info(p, 'upstream')));
    assert.match(String(await command(p, 'PUBLISH', 'news', 'lost')), /upstream unavailable/);
  }
  for (const p of sse) assert.equal((await httpRequest(p, { path: '/health' })).status, 503);
  assert.equal((await httpRequest(ports.nginx, { path: '/jugglite/health' })).status, 503);
  await sleep(500);
  assert.ok(browsers.every((b) => !b.closed), 'browsers stay connected while Redis is away');

  // ... and comes back (as an operator restarts it, with the same file):
  // the nodes resubscribe and messages flow again.
  const dir = mkdtempSync(path.join(os.tmpdir(), 'jl-example-redis-'));
  const redis = spawnTracked('redis-server', [path.join(EXAMPLES, 'redis.conf'), '--port', String(ports.redis),
    '--dir', dir, '--logfile', '']);
  after(async () => { await redis.stop(3000); rmSync(dir, { recursive: true, force: true }); });
  for (const p of resp) {
    await waitFor(`node ${p} up again`, async () => /upstream_state:up\r\n[\s\S]*upstream_unconfirmed:0\r\n/.test(await info(p, 'upstream')));
  }
  assert.equal(await command(resp[2], 'PUBLISH', 'news', 'back'), 3);
  for (const b of browsers) {
    assert.equal((await b.takeEvents(1, 10000))[0].data, 'back');
    await sleep(100);
    assert.equal(b.events.length, 3, 'nothing lost or doubled across the outage');
    b.close();
  }
  await script.stop(5000);
  await sleep(200);
  for (const pid of pids().filter((p) => p !== redisPid)) {
    assert.throws(() => process.kill(pid, 0), undefined, `process ${pid} stopped with the script`);
  }
});
