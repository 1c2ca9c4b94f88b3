// A clean shutdown answers what it accepted (issue 15, item 7): a bridged
// node that gets SIGTERM while a client's PUBLISH is forwarded to Redis and
// not yet answered keeps that client, and its link to Redis, until Redis
// answers; the client gets the real reply, then the close, and the node
// exits 0. Redis's answer is held back for real: CLIENT PAUSE on Redis
// holds every command the node sends. Past --shutdown-timeout, the client
// gets an error instead, never silence.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startJugglite, startRedis, RawClient, decodeAll, sleep, cleanupAll, until,
} from './lib/harness.mjs';

after(cleanupAll);
const T = { timeout: 60000 };

async function command(port, ...args) {
  const c = await RawClient.connect(port);
  try { return decodeAll(await c.call(args, 10000))[0]; } finally { c.close(); }
}

async function bridged(redis, extra = []) {
  const n = await startJugglite({ args: ['--upstream', `redis://127.0.0.1:${redis.port}`, ...extra] });
  await until(async () => /upstream_state:up\r\n[\s\S]*upstream_unconfirmed:0\r\n/.test(String(await command(n.respPort, 'INFO', 'upstream'))), 'node up');
  return n;
}

/** Sends PUBLISH through the node and returns the client and what it reads until it closes. */
async function pendingPublish(port, chan, payload) {
  const c = await RawClient.connect(port);
  const closed = new Promise((resolve) => c.sock.once('close', resolve));
  await c.send(['PUBLISH', chan, payload]);
  return { c, closed };
}

test('SIGTERM while Redis holds the answer: the client gets the real reply, then the close', T, async () => {
  const redis = await startRedis();
  const node = await bridged(redis);
  try {
    const watcher = await RawClient.connect(redis.port);
    await watcher.send(['SUBSCRIBE', 'held']);
    await watcher.readFrames(1, 5000);
    assert.equal(await command(redis.port, 'CLIENT', 'PAUSE', '1500', 'ALL'), 'OK');
    const { c, closed } = await pendingPublish(node.respPort, 'held', 'm1');
    await sleep(200);       // the PUBLISH is out, Redis holds it
    const stopping = node.stop();     // SIGTERM
    await closed;
    assert.equal(c.buf.toString('latin1'), ':1\r\n', 'the reply Redis gave, before the close');
    const frames = await watcher.readFrames(1, 5000);
    assert.match(frames.toString('latin1'), /m1/, 'and Redis did publish it');
    assert.equal((await stopping).code, 0);
    watcher.close();
  } finally {
    await node.stop();
    await redis.stop();
  }
});

test('past --shutdown-timeout the client gets an error, not silence', T, async () => {
  const redis = await startRedis();
  const node = await bridged(redis, ['--shutdown-timeout', '0.5']);
  try {
    assert.equal(await command(redis.port, 'CLIENT', 'PAUSE', '4000', 'ALL'), 'OK');
    const { c, closed } = await pendingPublish(node.respPort, 'late', 'm2');
    await sleep(200);
    const stopping = node.stop();
    await closed;
    assert.match(c.buf.toString('latin1'), /^-ERR upstream unavailable: /);
    assert.equal((await stopping).code, 0);
  } finally {
    await node.stop();
    await redis.stop();
  }
});
