// presence_bridged.test.mjs -- occupancy across bridged nodes (scope
// "cluster"), against real binaries and a real redis-server: a name's first
// subscriber anywhere and its last one leaving are one event each, whatever
// node they are on and whichever node's app watches; a node that goes
// silent (SIGSTOP) has its names vacated once its --presence-ttl passes,
// and takes them again when it comes back; a clean exit lets go at once; node events (scope "node") still
// come from each node; a single node says both.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { startJugglite, startRedis, RawClient, SseClient, decodeAll, until, sleep, cleanupAll } from './lib/harness.mjs';
import { watchLifecycle } from './lib/lifecycle.mjs';

after(cleanupAll);
const T = { timeout: 120000 };
const WAIT = 30000;

const watcher = (port) => watchLifecycle(port);

const up = async (port) => until(async () => {
  const c = await RawClient.connect(port);
  try { return /upstream_state:up/.test(String(decodeAll(await c.call(['INFO', 'upstream']))[0])); } finally { c.close(); }
}, 'the node bridged', WAIT);

test('cluster occupancy: the first subscriber anywhere and the last, one event each; a silent node is vacated after --presence-ttl, and takes its names back', T, async () => {
  const redis = await startRedis();
  const args = ['--upstream', `redis://127.0.0.1:${redis.port}`, '--lifecycle-events', '--presence-ttl', '2'];
  const a = await startJugglite({ args });
  const b = await startJugglite({ args });
  const open = [];
  try {
    await up(a.respPort);
    await up(b.respPort);
    const w = await watcher(a.respPort);
    await sleep(300); // the watcher's pattern reaches Redis
    const cluster = () => w.got.filter((e) => e.scope === 'cluster').map((e) => `${e.channel.slice(13)} ${e.kind}:${e.name}`);
    const nodeOf = (what) => w.got.find((e) => e.scope === 'cluster' && `${e.channel.slice(13)} ${e.kind}:${e.name}` === what)?.node;
    const runId = async (n) => {
      const c = await RawClient.connect(n.respPort);
      try { return /run_id:([0-9a-f]{40})/.exec(String(decodeAll(await c.call(['INFO', 'server']))[0]))[1]; } finally { c.close(); }
    };
    const [idA, idB] = [await runId(a), await runId(b)];

    // x: first on A, then B too; A leaves (x still held on B), B leaves
    const xa = await SseClient.open(a.ssePort, '/stream?channel=x');
    await xa.waitComments(1);
    await until(() => cluster().length === 1, 'x occupied', WAIT);
    const xb = await SseClient.open(b.ssePort, '/stream?channel=x');
    await xb.waitComments(1);
    await until(() => w.got.some((e) => e.scope === 'node' && e.node === idB && e.name === 'x'), 'B\'s own occupied x', WAIT);
    // ... and Redis knows B holds it (a node tells Redis on the next loop
    // iteration: a close on A racing that would be a true vacated, then a
    // true occupied; not what this step checks)
    const rc = await RawClient.connect(redis.port);
    open.push(rc);
    await until(async () => Number(decodeAll(await rc.call(['SISMEMBER', 'jugglite:occ:channel:x', idB]))[0]) === 1, 'Redis knows B holds x', WAIT);
    xa.close();
    await until(() => w.got.some((e) => e.scope === 'node' && e.node === idA && e.channel.endsWith('vacated')), 'A\'s own vacated x', WAIT);
    await sleep(1500); // a tick or more: nothing for the cluster
    assert.deepEqual(cluster(), ['occupied channel:x']);
    assert.equal(nodeOf('occupied channel:x'), idA);
    xb.close();
    await until(() => cluster().length === 2, 'x vacated', WAIT);
    assert.deepEqual(cluster(), ['occupied channel:x', 'vacated channel:x']);
    assert.equal(nodeOf('vacated channel:x'), idB);

    // y*, a RESP subscriber on B, then B hangs (SIGSTOP: it says nothing
    // more, as a dead node; a SIGKILL would leave valgrind no summary to
    // check): vacated once the ttl passes, in B's name. B comes back: it
    // learns it was counted out and takes y* again.
    const yb = await RawClient.connect(b.respPort);
    open.push(yb);
    await yb.call(['PSUBSCRIBE', 'y*']);
    await until(() => cluster().length === 3, 'y* occupied', WAIT);
    assert.equal(cluster()[2], 'occupied pattern:y*');
    process.kill(b.proc.pid, 'SIGSTOP');
    try {
      await until(() => cluster().length === 4, 'y* vacated while B is silent', WAIT);
    } finally {
      process.kill(b.proc.pid, 'SIGCONT');
    }
    assert.equal(cluster()[3], 'vacated pattern:y*');
    assert.equal(nodeOf('vacated pattern:y*'), idB, 'in the name of the node that held it');
    await until(() => cluster().length === 5, 'y* taken again by B, back', WAIT);
    assert.equal(cluster()[4], 'occupied pattern:y*');
    yb.close();
    await until(() => cluster().length === 6, 'y* vacated by its last subscriber', WAIT);
    assert.equal(cluster()[5], 'vacated pattern:y*');

    // z on a third node that exits cleanly: vacated at once (no ttl to wait)
    const c = await startJugglite({ args: ['--upstream', `redis://127.0.0.1:${redis.port}`, '--lifecycle-events', '--presence-ttl', '600'] });
    await up(c.respPort);
    const zc = await SseClient.open(c.ssePort, '/stream?channel=z');
    await zc.waitComments(1);
    await until(() => cluster().length === 7, 'z occupied', WAIT);
    await c.stop();
    await until(() => cluster().length === 8, 'z vacated by the clean exit', WAIT);
    assert.deepEqual(cluster().slice(6), ['occupied channel:z', 'vacated channel:z']);
    zc.close();

    // Redis forgets the library (FUNCTION FLUSH): the next call finds no
    // function, and the node loads it again and hands its set over
    const w2 = await RawClient.connect(redis.port);
    open.push(w2);
    const q = await SseClient.open(a.ssePort, '/stream?channel=q');
    await q.waitComments(1);
    await until(() => cluster().length === 9, 'q occupied', WAIT);
    assert.match(String(decodeAll(await w2.call(['FUNCTION', 'FLUSH']))[0]), /OK/);
    q.close();
    await until(() => cluster().length === 10, 'q vacated after the library came back', WAIT);
    assert.equal(cluster()[9], 'vacated channel:q');

    // Redis keeps nothing of a node that is gone
    const r = await RawClient.connect(redis.port);
    open.push(r);
    const keys = decodeAll(await r.call(['KEYS', 'jugglite:occ*']))[0].map(String);
    assert.deepEqual(keys, [], `left in Redis: ${keys}`);
    w.c.close();
  } finally {
    for (const x of open) x.close();
    await a.stop();
    await b.stop();
    await redis.stop();
  }
});

test('a single node is its own cluster: each transition as scope node and scope cluster', T, async () => {
  const srv = await startJugglite({ args: ['--lifecycle-events'] });
  try {
    const w = await watcher(srv.respPort);
    const s = await SseClient.open(srv.ssePort, '/stream?channel=solo');
    await s.waitComments(1);
    s.close();
    await until(() => w.got.filter((e) => e.channel.endsWith('vacated')).length === 2, 'both vacated', WAIT);
    const occ = w.got.filter((e) => /occupied|vacated/.test(e.channel)).map((e) => `${e.channel.slice(13)} ${e.scope} ${e.name}`);
    assert.deepEqual(occ, ['occupied node solo', 'occupied cluster solo', 'vacated node solo', 'vacated cluster solo']);
    w.c.close();
  } finally {
    await srv.stop();
  }
});
