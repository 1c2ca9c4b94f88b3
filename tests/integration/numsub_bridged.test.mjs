// numsub_bridged.test.mjs -- JUGGLITE NUMSUB, the subscriber count across
// every node bridged to one upstream, against real binaries and a real
// redis-server: browsers (SSE) and RESP subscribers on two nodes add up on
// either node, while PUBSUB NUMSUB stays the node's own (as Redis's is); a
// node that cannot answer (stopped with SIGSTOP) is counted out at the
// deadline and INFO says so; without an upstream the command is PUBSUB
// NUMSUB; inside MULTI it is refused.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { startJugglite, startRedis, RawClient, SseClient, decodeAll, until, cleanupAll } from './lib/harness.mjs';

after(cleanupAll);
const T = { timeout: 90000 };

async function call(port, args) {
  const c = await RawClient.connect(port);
  try { return decodeAll(await c.call(args, 20000))[0]; } finally { c.close(); }
}
const counts = (reply) => Object.fromEntries(reply.reduce((acc, v, i) => (i % 2 ? acc : [...acc, [String(v), Number(reply[i + 1])]]), []));

test('JUGGLITE NUMSUB adds up every bridged node; PUBSUB NUMSUB stays local; a silent node is counted out', T, async () => {
  const redis = await startRedis();
  const up = ['--upstream', `redis://127.0.0.1:${redis.port}`];
  const a = await startJugglite({ args: up });
  const b = await startJugglite({ args: up });
  const open = [];
  try {
    for (const n of [a, b]) {
      await until(async () => /upstream_state:up/.test(String(await call(n.respPort, ['INFO', 'upstream']))), 'the node bridged');
    }
    // both nodes listen for questions (Redis counts them)
    await until(async () => Number((await call(redis.port, ['PUBSUB', 'NUMSUB', 'jugglite:numsub']))[1]) === 2, 'both nodes listening');
    for (const [n, q] of [[a, 'x,y'], [b, 'x'], [b, 'x']]) {
      const s = await SseClient.open(n.ssePort, `/stream?channel=${q}`);
      await s.waitComments(1);
      open.push(s);
    }
    const r = await RawClient.connect(b.respPort);
    open.push(r);
    await r.send(['SUBSCRIBE', 'y']);
    await r.readFrames(1, 5000);

    // a name that is not UTF-8 (channel names are any bytes) is counted too
    const bin = Buffer.from([0x62, 0xff, 0x00, 0x7a]);
    const rb = await RawClient.connect(b.respPort);
    open.push(rb);
    await rb.send(['SUBSCRIBE', bin]);
    await rb.readFrames(1, 5000);
    const ra = await RawClient.connect(a.respPort);
    open.push(ra);
    const raw = await ra.call(['JUGGLITE', 'NUMSUB', bin], 20000);
    assert.ok(raw.equals(Buffer.concat([Buffer.from('*2\r\n$4\r\n'), bin, Buffer.from('\r\n:1\r\n')])), raw.toString('latin1'));

    const want = { x: 3, y: 2, z: 0 };
    assert.deepEqual(counts(await call(a.respPort, ['JUGGLITE', 'NUMSUB', 'x', 'y', 'z'])), want);
    assert.deepEqual(counts(await call(b.respPort, ['JUGGLITE', 'NUMSUB', 'x', 'y', 'z'])), want);
    assert.deepEqual(counts(await call(a.respPort, ['PUBSUB', 'NUMSUB', 'x', 'y'])), { x: 1, y: 1 });
    assert.deepEqual(counts(await call(b.respPort, ['PUBSUB', 'NUMSUB', 'x', 'y'])), { x: 2, y: 1 });
    assert.deepEqual(await call(a.respPort, ['JUGGLITE', 'NUMSUB']), []);

    // a browser leaves: the count follows at once (nothing is stored)
    open[0].close();
    await until(async () => counts(await call(b.respPort, ['JUGGLITE', 'NUMSUB', 'x'])).x === 2, 'the count after a close');

    // the question and its answers never reach subscribers of the channels
    const spy = await RawClient.connect(a.respPort);
    open.push(spy);
    await spy.send(['PSUBSCRIBE', 'jugglite:*']);
    await spy.readFrames(1, 5000);
    await until(async () => Number((await call(redis.port, ['PUBSUB', 'NUMPAT']))) >= 1, 'the pattern upstream');
    await call(a.respPort, ['JUGGLITE', 'NUMSUB', 'x']);
    assert.equal((await spy.readFor(300)).length, 0, 'nothing on jugglite:* for the spy');

    // inside MULTI: refused, the rest of the transaction runs
    const m = await RawClient.connect(a.respPort);
    open.push(m);
    await m.call(['MULTI']);
    await m.call(['JUGGLITE', 'NUMSUB', 'x']);
    const ex = decodeAll(await m.call(['EXEC']))[0];
    assert.match(String(ex[0]), /^ERR JUGGLITE NUMSUB waits for every node/);

    // B stops answering: A answers at the deadline with its own count
    process.kill(b.proc.pid, 'SIGSTOP');
    try {
      assert.deepEqual(counts(await call(a.respPort, ['JUGGLITE', 'NUMSUB', 'x', 'y'])), { x: 0, y: 0 });
      assert.match(String(await call(a.respPort, ['INFO', 'upstream'])), /upstream_numsub_timeouts:1\r\n/);
    } finally {
      process.kill(b.proc.pid, 'SIGCONT');
    }
    assert.deepEqual(counts(await call(a.respPort, ['JUGGLITE', 'NUMSUB', 'x'])), { x: 2 });
    assert.match(String(await call(a.respPort, ['INFO', 'upstream'])), /upstream_numsub_asked:[4-9]\r\n/);
  } finally {
    for (const s of open) s.close();
    await a.stop();
    await b.stop();
    await redis.stop();
  }
});

test('JUGGLITE NUMSUB without an upstream is PUBSUB NUMSUB; JUGGLITE HELP', T, async () => {
  const srv = await startJugglite();
  try {
    const s = await SseClient.open(srv.ssePort, '/stream?channel=solo');
    await s.waitComments(1);
    assert.deepEqual(await call(srv.respPort, ['JUGGLITE', 'NUMSUB', 'solo', 'none']),
      await call(srv.respPort, ['PUBSUB', 'NUMSUB', 'solo', 'none']));
    assert.deepEqual(counts(await call(srv.respPort, ['JUGGLITE', 'NUMSUB', 'solo'])), { solo: 1 });
    const help = (await call(srv.respPort, ['JUGGLITE', 'HELP'])).map(String);
    assert.match(help[0], /^JUGGLITE <subcommand>/);
    assert.match(String(await call(srv.respPort, ['JUGGLITE', 'NOPE'])), /^ERR unknown subcommand 'NOPE'/);
    s.close();
  } finally {
    await srv.stop();
  }
});
