// Interop: real Redis clients against jugglite's RESP listener.
//   redis-cli (one-shot, subscribe / psubscribe streams, RESP3 via -3, stdin
//   pipe, and a real interactive session on a pty), redis-benchmark, ioredis and
//   node-redis v4 (pub/sub, and resubscribe after a server restart on the same port).
//
// Note: Debian's redis-cli 7.0.15 spells RESP3 `-3`; `--resp3` is not an
// option there ("Unrecognized option").

import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import {
  startJugglite, freePort, RawClient, spawnTracked, sleep, withTimeout,
} from './lib/harness.mjs';

const T = { timeout: 30000 };
let srv;
before(async () => { srv = await startJugglite(); });
after(async () => { await srv?.stop(); });

let n = 0;
const chan = (base) => `interop-${base}-${++n}`;

/** PUBLISH over a raw connection; returns the receiver count. */
async function publish(port, channel, message) {
  const c = await RawClient.connect(port);
  try {
    const r = (await c.call(['PUBLISH', channel, message])).toString();
    const m = /^:(\d+)\r\n$/.exec(r);
    assert.ok(m, `PUBLISH reply ${JSON.stringify(r)}`);
    return Number(m[1]);
  } finally { c.close(); }
}

/** Wait until `channel` has `count` subscribers (PUBSUB NUMSUB), bounded. */
async function waitNumsub(port, channel, count, ms = 10000) {
  const c = await RawClient.connect(port);
  try {
    const deadline = Date.now() + ms;
    for (;;) {
      const r = (await c.call(['PUBSUB', 'NUMSUB', channel])).toString();
      const m = /:(\d+)\r\n$/.exec(r);
      if (m && Number(m[1]) >= count) return;
      if (Date.now() > deadline) throw new Error(`channel ${channel} never reached ${count} subscribers (last ${JSON.stringify(r)})`);
      await sleep(50);
    }
  } finally { c.close(); }
}

/** Run a command to completion, bounded. */
async function runCmd(cmd, args, ms = 15000, opts = {}) {
  const p = spawnTracked(cmd, args, opts);
  if (opts.input !== undefined) p.stdin.end(opts.input); else p.stdin.end();
  return p.waitExit(ms);
}

describe('redis-cli', () => {
  test('one-shot commands', T, async () => {
    const p = String(srv.respPort);
    assert.deepEqual(await runCmd('redis-cli', ['-p', p, 'ping']).then((r) => [r.code, r.out]), [0, 'PONG\n']);
    assert.equal((await runCmd('redis-cli', ['-p', p, 'publish', chan('x'), 'msg'])).out, '0\n');
    assert.equal((await runCmd('redis-cli', ['-p', p, 'echo', 'hello world'])).out, 'hello world\n');
    assert.equal((await runCmd('redis-cli', ['-p', p, 'pubsub', 'numsub', 'nobody'])).out, 'nobody\n0\n');
  });

  test('subscribe: streams N messages, then is killed', T, async () => {
    const ch = chan('sub');
    const cli = spawnTracked('redis-cli', ['-p', String(srv.respPort), 'subscribe', ch]);
    try {
      await cli.waitStdout(`subscribe\n${ch}\n1\n`);
      for (let i = 0; i < 3; i++) assert.equal(await publish(srv.respPort, ch, `m${i}`), 1);
      await cli.waitStdout(`message\n${ch}\nm0\nmessage\n${ch}\nm1\nmessage\n${ch}\nm2\n`);
    } finally { await cli.stop(); }
    // the killed subscriber is gone from the server
    await withTimeout((async () => { while ((await publish(srv.respPort, ch, 'gone')) !== 0) await sleep(50); })(), 5000, 'subscriber removal');
  });

  test('psubscribe', T, async () => {
    const base = chan('ps');
    const cli = spawnTracked('redis-cli', ['-p', String(srv.respPort), 'psubscribe', `${base}.*`]);
    try {
      await cli.waitStdout(`psubscribe\n${base}.*\n1\n`);
      assert.equal(await publish(srv.respPort, `${base}.news`, 'hi'), 1);
      assert.equal(await publish(srv.respPort, `${base}x`, 'not matched'), 0);
      await cli.waitStdout(`pmessage\n${base}.*\n${base}.news\nhi\n`);
    } finally { await cli.stop(); }
  });

  test('RESP3 (-3): ping, publish, subscribe with pushes', T, async () => {
    const p = String(srv.respPort);
    assert.equal((await runCmd('redis-cli', ['-3', '-p', p, 'ping'])).out, 'PONG\n');
    assert.equal((await runCmd('redis-cli', ['-3', '-p', p, 'publish', chan('x'), 'm'])).out, '0\n');
    const ch = chan('r3');
    const cli = spawnTracked('redis-cli', ['-3', '-p', p, 'subscribe', ch]);
    try {
      await cli.waitStdout(`subscribe\n${ch}\n1\n`);
      assert.equal(await publish(srv.respPort, ch, 'pushed'), 1);
      await cli.waitStdout(`message\n${ch}\npushed\n`);
    } finally { await cli.stop(); }
  });

  test('commands on a stdin pipe (no tty)', T, async () => {
    const cli = spawnTracked('redis-cli', ['-p', String(srv.respPort)]);
    try {
      cli.stdin.write('PING\n');
      await cli.waitStdout('PONG\n');
      cli.stdin.write('ECHO "two words"\n');
      await cli.waitStdout('PONG\ntwo words\n');
      cli.stdin.end('PUBLISH nobody-here x\n');
      const r = await cli.waitExit(5000);
      assert.equal(r.code, 0);
      assert.equal(r.out, 'PONG\ntwo words\n0\n');
    } finally { await cli.stop(); }
  });

  test('interactive session on a pty (prompt, PING, ECHO, SUBSCRIBE)', {
    ...T, skip: existsSync('/usr/bin/script') ? false : 'util-linux script(1) not available',
  }, async () => {
    // TERM=dumb makes linenoise read plain lines, but redis-cli is still in
    // interactive mode (stdin is a tty): it asks the server COMMAND DOCS for hints.
    const p = srv.respPort;
    const cli = spawnTracked('script', ['-qfec', `redis-cli -p ${p}`, '/dev/null'], { env: { ...process.env, TERM: 'dumb' } });
    try {
      await cli.waitStdout(`127.0.0.1:${p}> `, 10000);
      cli.stdin.write('PING\n');
      await cli.waitStdout(/PONG\r?\n/);
      cli.stdin.write('ECHO hi\n');
      await cli.waitStdout(/"hi"\r?\n/);
      const ch = chan('tty');
      cli.stdin.write(`SUBSCRIBE ${ch}\n`);
      await cli.waitStdout(/Reading messages/);
      await waitNumsub(p, ch, 1);
      assert.equal(await publish(p, ch, 'to the tty'), 1);
      await cli.waitStdout(/1\) "message"\r?\n2\) "[^"]+"\r?\n3\) "to the tty"/);
    } finally { await cli.stop(); }
  });
});

describe('redis-benchmark', () => {
  test('PUBLISH run of 2000 requests', { timeout: 60000 }, async () => {
    const r = await runCmd('redis-benchmark', ['-h', '127.0.0.1', '-p', String(srv.respPort), '-n', '2000', '-q', 'publish', 'bench-chan', 'msg'], 50000);
    assert.equal(r.code, 0, `redis-benchmark failed: ${r.out}\n${r.err}`);
    assert.match(r.out, /publish bench-chan msg: [0-9.]+ requests per second/);
  });

  test('PING_INLINE and PING_MBULK', { timeout: 60000 }, async () => {
    const r = await runCmd('redis-benchmark', ['-h', '127.0.0.1', '-p', String(srv.respPort), '-n', '2000', '-q', '-t', 'ping'], 50000);
    assert.equal(r.code, 0, `redis-benchmark failed: ${r.out}\n${r.err}`);
    assert.match(r.out, /PING_INLINE: [0-9.]+ requests per second/);
    assert.match(r.out, /PING_MBULK: [0-9.]+ requests per second/);
  });
});

/** Resolve on the first emitter event whose args satisfy pred, bounded. */
function once(emitter, event, pred = () => true, ms = 5000) {
  return withTimeout(new Promise((resolve) => {
    const h = (...args) => { if (pred(...args)) { emitter.off(event, h); resolve(args); } };
    emitter.on(event, h);
  }), ms, `event ${event}`);
}

/** Publish until someone receives it (resubscription after a reconnect is asynchronous). */
async function publishUntilReceived(port, channel, message, ms = 15000) {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      if ((await publish(port, channel, message)) > 0) return;
    } catch { /* server not up yet */ }
    if (Date.now() > deadline) throw new Error(`nobody resubscribed to ${channel} within ${ms} ms`);
    await sleep(100);
  }
}

describe('ioredis', () => {
  let Redis;
  before(async () => { ({ Redis } = await import('ioredis')); });
  const opts = (port) => ({ host: '127.0.0.1', port, retryStrategy: () => 100, maxRetriesPerRequest: 5, connectTimeout: 3000 });

  test('subscribe, psubscribe, ssubscribe, publish', T, async (t) => {
    const sub = new Redis(opts(srv.respPort));
    const pub = new Redis(opts(srv.respPort));
    t.after(() => { sub.disconnect(); pub.disconnect(); });
    const ch = chan('io');
    assert.equal(await sub.subscribe(ch, `${ch}-2`), 2);
    assert.equal(await sub.psubscribe(`${ch}*`), 3);
    const got = once(sub, 'message', (c) => c === ch);
    const gotP = once(sub, 'pmessage', (p, c) => c === ch);
    assert.equal(await pub.publish(ch, 'hello ioredis'), 2);
    assert.deepEqual(await got, [ch, 'hello ioredis']);
    assert.deepEqual(await gotP, [`${ch}*`, ch, 'hello ioredis']);
    const buf = once(sub, 'messageBuffer', (c) => c.toString() === `${ch}-2`);
    const payload = Buffer.from([0, 1, 2, 0xff, 0x0d, 0x0a]);
    assert.equal(await pub.publish(`${ch}-2`, payload), 2);
    assert.deepEqual((await buf)[1], payload);
    assert.deepEqual(await pub.pubsub('NUMSUB', ch), [ch, 1]);
    // sharded pub/sub
    const sch = `${ch}-s`;
    assert.equal(await sub.ssubscribe(sch), 1);
    const gotS = once(sub, 'smessage', (c) => c === sch);
    assert.equal(await pub.spublish(sch, 'shard'), 1);
    assert.deepEqual(await gotS, [sch, 'shard']);
    // (ioredis 5's argument-less unsubscribe() never resolves while patterns or
    // shard channels remain, against redis-server too: name the channels)
    assert.equal(await sub.unsubscribe(ch, `${ch}-2`), 1); // the pattern remains
    assert.equal(await pub.publish(ch, 'pattern only'), 1);
  });

  test('resubscribes after the server is restarted on the same port', { timeout: 60000 }, async (t) => {
    const port = await freePort();
    let s1 = await startJugglite({ respPort: port });
    let s2 = null;
    const sub = new Redis(opts(port));
    t.after(async () => { sub.disconnect(); await s1?.stop(); await s2?.stop(); });
    const ch = chan('io-restart');
    await sub.subscribe(ch);
    await sub.psubscribe(`${ch}.*`);
    const before = once(sub, 'message', (c, m) => m === 'before');
    assert.equal(await publish(port, ch, 'before'), 1);
    await before;

    const reconnecting = once(sub, 'reconnecting', () => true, 10000);
    await s1.stop();
    s1 = null;
    await reconnecting;
    s2 = await startJugglite({ respPort: port });
    assert.equal(s2.respPort, port);
    const after = once(sub, 'message', (c, m) => m === 'after restart', 20000);
    await publishUntilReceived(port, ch, 'after restart');
    await after;
    const pafter = once(sub, 'pmessage', (p, c, m) => m === 'pattern after restart', 10000);
    await publishUntilReceived(port, `${ch}.x`, 'pattern after restart');
    await pafter;
  });
});

describe('node-redis v4', () => {
  let createClient;
  before(async () => { ({ createClient } = await import('redis')); });
  const mk = (port) => {
    const c = createClient({ socket: { host: '127.0.0.1', port, reconnectStrategy: () => 100, connectTimeout: 3000 } });
    c.on('error', () => { /* reconnect noise; asserted through behaviour */ });
    return c;
  };

  test('subscribe, pSubscribe, sSubscribe, publish', T, async (t) => {
    const pub = mk(srv.respPort);
    await pub.connect();
    const sub = pub.duplicate();
    sub.on('error', () => {});
    await sub.connect();
    t.after(async () => { await pub.disconnect().catch(() => {}); await sub.disconnect().catch(() => {}); });
    const ch = chan('nr');
    const msgs = [];
    await sub.subscribe(ch, (message, channel) => msgs.push(['message', channel, message]));
    await sub.pSubscribe(`${ch}*`, (message, channel) => msgs.push(['pmessage', channel, message]));
    assert.equal(await pub.publish(ch, 'hello node-redis'), 2);
    await withTimeout((async () => { while (msgs.length < 2) await sleep(10); })(), 5000, 'two deliveries');
    assert.deepEqual(msgs.sort(), [['message', ch, 'hello node-redis'], ['pmessage', ch, 'hello node-redis']]);
    assert.deepEqual({ ...(await pub.pubSubNumSub(ch)) }, { [ch]: 1 });
    assert.deepEqual(await pub.sendCommand(['PUBSUB', 'NUMPAT']) >= 1, true);
    const sch = `${ch}-s`;
    const smsgs = [];
    await sub.sSubscribe(sch, (message, channel) => smsgs.push([channel, message]));
    assert.equal(await pub.sPublish(sch, 'shard'), 1);
    await withTimeout((async () => { while (smsgs.length < 1) await sleep(10); })(), 5000, 'shard delivery');
    assert.deepEqual(smsgs, [[sch, 'shard']]);
    await sub.unsubscribe(ch);
    await sub.pUnsubscribe();
    assert.equal(await pub.publish(ch, 'nobody'), 0);
  });

  test('resubscribes after the server is restarted on the same port', { timeout: 60000 }, async (t) => {
    const port = await freePort();
    let s1 = await startJugglite({ respPort: port });
    let s2 = null;
    const sub = mk(port);
    t.after(async () => { await sub.disconnect().catch(() => {}); await s1?.stop(); await s2?.stop(); });
    await sub.connect();
    const ch = chan('nr-restart');
    const msgs = [];
    await sub.subscribe(ch, (m) => msgs.push(m));
    await sub.pSubscribe(`${ch}.*`, (m, c) => msgs.push(`p:${c}:${m}`));
    assert.equal(await publish(port, ch, 'before'), 1);
    await withTimeout((async () => { while (!msgs.includes('before')) await sleep(10); })(), 5000, 'message before restart');

    const reconnecting = once(sub, 'reconnecting', () => true, 10000);
    await s1.stop();
    s1 = null;
    await reconnecting;
    s2 = await startJugglite({ respPort: port });
    await publishUntilReceived(port, ch, 'after restart');
    await withTimeout((async () => { while (!msgs.includes('after restart')) await sleep(10); })(), 10000, 'message after restart');
    await publishUntilReceived(port, `${ch}.x`, 'pattern after restart');
    await withTimeout((async () => { while (!msgs.includes(`p:${ch}.x:pattern after restart`)) await sleep(10); })(), 10000, 'pmessage after restart');
  });
});
