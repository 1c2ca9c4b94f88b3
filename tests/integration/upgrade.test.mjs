// upgrade.test.mjs -- SIGUSR2: a new jugglite process takes the listening
// sockets over while the old one drains, against the real binary:
//   - 1,000 `eventsource` clients (100 under valgrind or sanitizers) and an
//     ioredis publisher at a steady rate through the upgrade: every publish
//     Redis-style acknowledged reaches every client (they resume from the
//     history the new process loaded), no client gets a gap event, none
//     stops retrying, and the ports (TCP and a unix socket) never change;
//   - a new process that cannot start (its config file is now invalid)
//     leaves the old one serving, held nothing, with a log line saying why.
// No wall-clock thresholds: waits have deadlines, nothing is timed.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, readdirSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { startJugglite, RawClient, decodeAll, sleep, until, cleanupAll } from './lib/harness.mjs';

after(cleanupAll);
const dir = mkdtempSync(path.join(os.tmpdir(), 'jl-upgrade-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const small = process.env.JL_VALGRIND || process.env.JL_SANITIZED;
const CLIENTS = small ? 100 : 1000;
const T = { timeout: 240000 };

async function command(port, ...args) {
  const c = await RawClient.connect(port);
  try { return decodeAll(await c.call(args, 10000))[0]; } finally { c.close(); }
}

/** A process that is gone (or a zombie nobody reaps: same thing here). */
function gone(pid) {
  try { return /^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'latin1')); } catch { return true; }
}

async function stopPid(pid) {
  if (!pid || gone(pid)) return;
  process.kill(pid, 'SIGTERM');
  await until(() => gone(pid), `pid ${pid} to exit`, 20000).catch(() => process.kill(pid, 'SIGKILL'));
}

/** What jugglite left in its TMPDIR (valgrind keeps its own files there). */
const ours = (tmp) => readdirSync(tmp).filter((f) => f.startsWith('jugglite-'));

/** GET over the unix socket; resolves with the status. */
function unixStatus(socketPath, p) {
  return new Promise((resolve, reject) => {
    const req = http.get({ socketPath, path: p }, (res) => { res.resume(); resolve(res.statusCode); });
    req.on('error', reject);
  });
}

test(`${CLIENTS} eventsource clients and a steady publisher through an upgrade: nothing acknowledged is lost`, T, async () => {
  const { EventSource } = await import('eventsource');
  const { default: Redis } = await import('ioredis');
  const sock = path.join(dir, 'sse.sock');
  const tmp = path.join(dir, 'tmp1');
  mkdirSync(tmp);
  const srv = await startJugglite({ args: ['--retry', '1000', '--socket', sock, '--max-conns', String(CLIENTS + 100)], env: { TMPDIR: tmp } });
  let newPid = 0;
  const clients = [];
  let pub;
  try {
    for (let i = 0; i < CLIENTS; i++) {
      const c = { seen: new Set(), dups: 0, opens: 0, gaps: 0 };
      c.es = new EventSource(`http://127.0.0.1:${srv.ssePort}/stream?channel=up`);
      c.es.onopen = () => { c.opens++; };
      c.es.onmessage = (e) => { if (c.seen.has(e.data)) c.dups++; c.seen.add(e.data); };
      c.es.addEventListener('jugglite-gap', () => { c.gaps++; });
      clients.push(c);
    }
    await until(() => clients.every((c) => c.opens === 1), 'every client open', 60000);
    await until(async () => /sse_connected_streams:(\d+)/.exec(String(await command(srv.respPort, 'INFO', 'jugglite')))[1] === String(CLIENTS),
      'every stream registered', 30000);

    // The publisher: one PUBLISH every 5 ms; a seq counts once it is acknowledged.
    pub = new Redis({ port: srv.respPort, host: '127.0.0.1', lazyConnect: true });
    await pub.connect();
    const acked = new Set();
    let refused = 0, seq = 0, publishing = true;
    const inflight = new Set();
    const publisher = (async () => {
      while (publishing) {
        const n = String(++seq);
        const p = pub.publish('up', n).then(() => acked.add(n), () => { refused++; }).finally(() => inflight.delete(p));
        inflight.add(p);
        await sleep(5);
      }
    })();
    await until(() => acked.size >= 50, '50 acknowledged publishes before the upgrade');

    const oldExit = new Promise((resolve) => srv.proc.once('exit', (code, signal) => resolve({ code, signal })));
    srv.expectExit();
    process.kill(srv.proc.pid, 'SIGUSR2');
    await until(() => /restart: pid (\d+) took over/.test(srv.output()), 'the hand-over', 60000);
    newPid = Number(/restart: pid (\d+) took over/.exec(srv.output())[1]);
    assert.deepEqual(await oldExit, { code: 0, signal: null }, 'the old process drains and exits 0');
    const before = acked.size;
    await until(() => acked.size >= before + 50, '50 acknowledged publishes after the upgrade', 60000);
    publishing = false;
    await publisher;
    await Promise.allSettled([...inflight]);

    // The same ports, served by the new process.
    assert.match(String(await command(srv.respPort, 'INFO', 'server')), new RegExp(`process_id:${newPid}\\r\\n`));
    assert.equal(await unixStatus(sock, '/health'), 200, 'the unix socket was passed on, not removed');

    const missing = (c) => [...acked].filter((n) => !c.seen.has(n));
    await until(() => clients.every((c) => missing(c).length === 0), 'every acknowledged publish at every client', 60000)
      .catch(() => {
        const worst = clients.map(missing).sort((a, b) => b.length - a.length)[0];
        assert.fail(`a client misses ${worst.length} of ${acked.size} acknowledged publishes: ${worst.slice(0, 20).join(',')}`);
      });
    assert.equal(clients.filter((c) => c.es.readyState === 2).length, 0, 'no client stopped retrying');
    assert.equal(clients.filter((c) => c.opens < 2).length, 0, 'every client reconnected (to the new process)');
    assert.equal(clients.reduce((s, c) => s + c.gaps, 0), 0, 'no gap: the history came along');
    const dups = clients.reduce((s, c) => s + c.dups, 0);
    process.stdout.write(`# ${CLIENTS} clients, ${acked.size} acknowledged publishes (${refused} refused), ${dups} duplicate deliveries in all\n`);
    assert.match(srv.output(), /RESP listening on \S+ \(inherited\)/);
    assert.deepEqual(ours(tmp), [], 'the history passed through a private directory, now removed');
  } finally {
    for (const c of clients) c.es.close();
    pub?.disconnect();
    await srv.stop();
    await stopPid(newPid);
  }
});

test('a new process that cannot start leaves the old one serving', T, async () => {
  const conf = path.join(dir, 'bad-later.conf');
  writeFileSync(conf, 'keepalive 20\n');
  const tmp = path.join(dir, 'tmp2');
  mkdirSync(tmp);
  const srv = await startJugglite({ args: ['--config', conf], env: { TMPDIR: tmp } });
  const { EventSource } = await import('eventsource');
  const got = [];
  const es = new EventSource(`http://127.0.0.1:${srv.ssePort}/stream?channel=stay`);
  es.onmessage = (e) => got.push(e.data);
  try {
    await until(async () => String(await command(srv.respPort, 'PUBSUB', 'NUMSUB', 'stay')) === 'stay,1', 'the stream registered');
    writeFileSync(conf, 'keepalive never\n');
    process.kill(srv.proc.pid, 'SIGUSR2');
    await until(() => /restart: the new process \(pid \d+\) exited with status 2 before it was ready; this process carries on/.test(srv.output()),
      'the refusal logged', 30000);
    assert.match(srv.output(), /invalid value 'never' for --keepalive/);
    assert.equal(await command(srv.respPort, 'PUBLISH', 'stay', 'still here'), 1);
    await until(() => got.includes('still here'), 'the old process still delivers');
    assert.equal(srv.exited, false);
    assert.deepEqual(ours(tmp), [], 'the history file given to the failed process is removed');
  } finally {
    es.close();
    await srv.stop();
  }
});
