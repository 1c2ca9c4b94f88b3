// The three-node example of docs/deployment.md ("Several nodes"), run for
// real: docs/examples/run-cluster.sh starts Redis with redis.conf (ACL user
// 'jugglite', pub/sub only), three bridged jugglite nodes, and nginx with
// nginx-cluster.conf, all on free loopback ports. The document's own three
// commands run first, as written but for the ports and the binary; then
// browsers connected through nginx land on different nodes and all get a
// message published on Redis; then Redis goes away and comes back, as the
// document describes. Last, the script's failures: no binary, a node that
// cannot start, a port in use — each exits 1 without saying "ready".

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import path from 'node:path';
import os from 'node:os';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import {
  freePort, jugglitePath, RawClient, SseClient, httpRequest, spawnTracked, sleep, decodeAll,
  SOURCE_DIR,
} from './lib/harness.mjs';
import { section, codeBlocks, commandLines } from './lib/markdown.mjs';

const EXAMPLES = path.join(SOURCE_DIR, 'docs', 'examples');
const SCRIPT = path.join(EXAMPLES, 'run-cluster.sh');
const PASS = 'jugglite-demo-password';   // the one in docs/examples/redis.conf
const shq = (s) => `'${s.replace(/'/g, "'\\''")}'`;

// docs/deployment.md's block for this example: start the script, a browser
// (curl), a publish on Redis.
function documentedCommands() {
  const md = readFileSync(path.join(SOURCE_DIR, 'docs', 'deployment.md'), 'utf8');
  const block = codeBlocks(section(md, '## Several nodes'), 'sh').find((b) => b.includes('run-cluster.sh'));
  assert.ok(block, 'docs/deployment.md has a block that runs run-cluster.sh');
  const lines = commandLines(block);
  const find = (re, what) => {
    const l = lines.find((x) => re.test(x));
    assert.ok(l, `docs/deployment.md's run-cluster block has ${what}`);
    return l;
  };
  return {
    run: find(/run-cluster\.sh/, 'the script'),
    curl: find(/^curl -N /, 'a curl stream'),
    publish: find(/^redis-cli .*PUBLISH/i, 'a redis-cli PUBLISH'),
  };
}

async function clusterPorts() {
  const ports = {};
  for (const k of ['nginx', 'redis', 's1', 's2', 's3', 'r1', 'r2', 'r3']) ports[k] = await freePort();
  return ports;
}

function clusterEnv(ports) {
  return {
    ...process.env, NGINX_PORT: String(ports.nginx), REDIS_PORT: String(ports.redis),
    SSE_PORTS: [ports.s1, ports.s2, ports.s3].join(' '), RESP_PORTS: [ports.r1, ports.r2, ports.r3].join(' '),
  };
}

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

async function streamsPerNode(resp) {
  return Promise.all(resp.map(async (p) => Number((await info(p, 'jugglite')).match(/sse_connected_streams:(\d+)/)[1])));
}

test('docs/examples: three nodes behind nginx with one Redis', { timeout: 120000 }, async () => {
  const ports = await clusterPorts();
  const sse = [ports.s1, ports.s2, ports.s3];
  const resp = [ports.r1, ports.r2, ports.r3];
  const doc = documentedCommands();
  // The binary the document names is the one `make run` builds; the test
  // runs the binary under test in its place.
  const documentedBin = doc.run.match(/^JUGGLITE=(\S+) /)?.[1];
  const makeRun = readFileSync(path.join(SOURCE_DIR, 'Makefile'), 'utf8').match(/^run:.*\n\t@?exec (\S+) \$\(ARGS\)$/m)?.[1];
  assert.ok(makeRun, 'the Makefile runs a binary');
  assert.equal(documentedBin, makeRun, 'docs/deployment.md names the binary `make run` builds');
  const header = readFileSync(SCRIPT, 'utf8').match(/^#\s+JUGGLITE=(\S+) docs\/examples\/run-cluster\.sh/m)?.[1];
  assert.equal(header, makeRun, "run-cluster.sh's header names the binary `make run` builds");

  const script = spawnTracked('bash', ['-c', doc.run.replace(/^JUGGLITE=\S+/, `JUGGLITE=${shq(jugglitePath())}`)], {
    cwd: SOURCE_DIR, env: clusterEnv(ports),
  });
  const pids = () => [...script.out().matchAll(/ pid (\d+)/g)].map((m) => Number(m[1]));
  after(async () => {
    await script.stop(5000);
    for (const pid of pids()) { try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ } }
  });
  await script.waitStdout(/ready:/, 60000);
  for (const p of resp) {
    await waitFor(`node ${p} up`, async () => /upstream_state:up/.test(await info(p, 'upstream')));
  }
  await waitFor('nginx', async () => (await httpRequest(ports.nginx, { path: '/jugglite/health' })).status === 200);

  // The document's browser and publisher, as written but for the ports.
  const curl = spawnTracked('bash', ['-c', `exec ${doc.curl.replace(/\b8000\b/g, ports.nginx)}`]);
  await curl.waitStdout(': registered to channels: news', 10000);
  const pub = spawnTracked('bash', ['-c', doc.publish.replace(/\b6390\b/g, ports.redis)]);
  const published = await pub.waitExit(10000);
  assert.equal(published.code, 0, `redis-cli: ${published.err}`);
  assert.equal(published.out.trim(), '1', 'one node holds the one stream');
  const word = doc.publish.trim().split(/\s+/).pop();
  await curl.waitStdout(`data: ${word}\n`, 10000);
  await curl.stop();
  await waitFor('the curl stream gone from its node', async () => (await streamsPerNode(resp)).every((n) => n === 0));

  // Three browsers through nginx: least_conn spreads them over the nodes.
  const browsers = [];
  for (let i = 0; i < 3; i++) {
    const b = await SseClient.open(ports.nginx, '/stream?channel=news');
    await b.waitComments(1, 10000);
    browsers.push(b);
  }
  const perNode = await streamsPerNode(resp);
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
    // Where the outage was, the gap event: a PUBLISH made on Redis while a
    // node was cut off cannot be recovered, so the browser is told.
    const [gap, back] = await b.takeEvents(2, 10000);
    assert.equal(gap.type, 'jugglite-gap');
    assert.deepEqual(JSON.parse(gap.data).channels, [{ channel: 'news', reason: 'upstream', lost: null }]);
    assert.equal(back.data, 'back');
    assert.match(back.lastEventId, /^\d+-\d+$/, 'a publish through a node has an id from the shared history');
    await sleep(100);
    assert.equal(b.events.length, 4, 'nothing lost or doubled across the outage');
    b.close();
  }
  for (const p of resp) assert.match(await info(p, 'upstream'), /upstream_shared_history:yes\r\n/);
  await script.stop(5000);
  await sleep(200);
  for (const pid of pids().filter((p) => p !== redisPid)) {
    assert.throws(() => process.kill(pid, 0), undefined, `process ${pid} stopped with the script`);
  }
});

// ---------------------------------------------------------------- failures

// Runs the script with env on free ports; returns {code, out, err} once it exits.
async function runFailing(env, { cwd } = {}) {
  const ports = await clusterPorts();
  const script = spawnTracked('bash', [SCRIPT], { cwd, env: { ...clusterEnv(ports), ...env } });
  after(() => script.stop(5000));
  const r = await script.waitExit(60000);
  const pids = [...r.out.matchAll(/ pid (\d+)/g)].map((m) => Number(m[1]));
  return { ...r, pids, ports };
}

function assertStopped(pids) {
  for (const pid of pids) {
    assert.throws(() => process.kill(pid, 0), undefined, `process ${pid} stopped with the script`);
  }
}

test('run-cluster.sh: no binary at JUGGLITE fails at once, says so, and never says ready', { timeout: 60000 }, async () => {
  // The path docs/deployment.md used to give, from a directory where it does not exist.
  const dir = mkdtempSync(path.join(os.tmpdir(), 'jl-cluster-nobin-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const r = await runFailing({ JUGGLITE: 'build/jugglite' }, { cwd: dir });
  assert.equal(r.code, 1, `exit status; stderr: ${r.err}`);
  assert.doesNotMatch(r.out + r.err, /^ready:/m, "never says ready");
  assert.match(r.err, /no jugglite binary at build\/jugglite/);
  assert.match(r.err, /build\/release\/jugglite/, 'names the path `make run` builds');
  assert.deepEqual(r.pids, [], 'nothing was started');
});

test('run-cluster.sh: a node that exits at startup stops the rest and exits 1', { timeout: 60000 }, async () => {
  // A real jugglite, given an option it refuses (exit 2) before it listens.
  const dir = mkdtempSync(path.join(os.tmpdir(), 'jl-cluster-badnode-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const wrapper = path.join(dir, 'jugglite');
  writeFileSync(wrapper, `#!/bin/sh\nexec ${shq(jugglitePath())} --max-conns lots "$@"\n`);
  chmodSync(wrapper, 0o755);
  const r = await runFailing({ JUGGLITE: wrapper });
  assert.equal(r.code, 1, `exit status; stderr: ${r.err}`);
  assert.doesNotMatch(r.out + r.err, /^ready:/m, "never says ready");
  assert.match(r.err, /invalid value 'lots' for --max-conns/, "the node's own message passes through");
  assert.match(r.err, /node 1 exited before listening on port \d+/);
  assert.match(r.out, /redis pid \d+/, 'Redis had been started');
  assertStopped(r.pids);
});

test('run-cluster.sh: a port in use fails before starting anything', { timeout: 60000 }, async () => {
  const squatter = net.createServer();
  await new Promise((res) => squatter.listen(0, '127.0.0.1', res));
  after(() => squatter.close());
  const busy = squatter.address().port;
  const ports = await clusterPorts();
  const r = await runFailing({ SSE_PORTS: `${ports.s1} ${busy} ${ports.s3}`, JUGGLITE: jugglitePath() });
  assert.equal(r.code, 1, `exit status; stderr: ${r.err}`);
  assert.doesNotMatch(r.out + r.err, /^ready:/m, "never says ready");
  assert.match(r.err, new RegExp(`port ${busy} on 127\\.0\\.0\\.1 is already in use`));
  assert.deepEqual(r.pids, [], 'nothing was started');
});
