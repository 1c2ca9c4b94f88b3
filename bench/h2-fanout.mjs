// h2-fanout.mjs -- fan-out to SSE streams over HTTP/2 (TLS), for bench/compare's
// tls workload: loadgen speaks HTTP/1.1 only, so node's http2 is the client here.
//
// Opens CONNS HTTP/2 connections to https://127.0.0.1:TLS_PORT with STREAMS
// streams each (GET /stream?channel=bench), waits until each has its head and
// its first bytes, then publishes MSGS messages of SIZE bytes (RESP PUBLISH to
// PUB_PORT with pub=resp, or HTTP POST /publish?channel=bench with pub=http; 16
// in flight) and waits until every stream has counted every message. Reported:
// the servers' CPU time per delivered event (from /proc/PID/schedstat: what the
// server spent, however fast this client reads) -- the figure to compare -- and
// events/s, which this node client may bound (its own CPU is reported too).
//
// usage: node bench/h2-fanout.mjs TLS_PORT resp|http PUB_PORT PIDS CONNS STREAMS MSGS SIZE
// prints: RESULT status=ok deliveries=.. events_per_s=.. srv_cpu_us_per_event=..
//         client_cpu_s=.. elapsed_s=..
import http2 from 'node:http2';
import http from 'node:http';
import net from 'node:net';
import { readFileSync, readdirSync } from 'node:fs';

const [tlsPort, pubKind, pubPort, pidList, conns, streams, msgs, size] = process.argv.slice(2);
const pids = pidList.split(',').map(Number);
const C = Number(conns), S = Number(streams), M = Number(msgs), Z = Number(size);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const cpuNs = () => pids.reduce((sum, pid) => {
  let t = 0;
  try {
    for (const task of readdirSync(`/proc/${pid}/task`)) t += Number(readFileSync(`/proc/${pid}/task/${task}/schedstat`, 'utf8').split(' ')[0]);
  } catch { /* gone */ }
  return sum + t;
}, 0);

const marker = Buffer.from('\ndata: ');
const subs = [];
const sessions = [];
for (let i = 0; i < C; i++) {
  const session = http2.connect(`https://127.0.0.1:${tlsPort}`, { rejectUnauthorized: false, settings: { initialWindowSize: 1 << 20 } });
  session.on('error', () => {});
  sessions.push(session);
  for (let j = 0; j < S; j++) {
    const sub = { got: 0, ready: false, tail: Buffer.alloc(0) };
    const req = session.request({ ':path': '/stream?channel=bench', accept: 'text/event-stream' });
    req.on('data', (d) => {
      sub.ready = true;
      const b = sub.tail.length ? Buffer.concat([sub.tail, d]) : d;
      for (let k = b.indexOf(marker); k >= 0; k = b.indexOf(marker, k + 1)) sub.got++;
      sub.tail = b.subarray(Math.max(0, b.length - marker.length + 1));
    });
    req.on('error', () => { sub.failed = true; });
    subs.push(sub);
  }
  await sleep(5);
}
const t0 = Date.now();
while (!subs.every((s) => s.ready || s.failed) && Date.now() - t0 < 60000) await sleep(20);
if (!subs.every((s) => s.ready)) {
  console.log(`RESULT status=failed stage=connect ready=${subs.filter((s) => s.ready).length}`);
  process.exit(1);
}
await sleep(300); // subscriptions settle (a bridged or nchan channel)
for (const s of subs) s.got = 0;

const payload = 'x'.repeat(Z);
const cpu0 = cpuNs(), wall0 = process.hrtime.bigint(), usage0 = process.cpuUsage();
if (pubKind === 'resp') {
  const sock = net.connect(Number(pubPort), '127.0.0.1');
  await new Promise((r) => sock.once('connect', r));
  const cmd = Buffer.from(`*3\r\n$7\r\nPUBLISH\r\n$5\r\nbench\r\n$${Z}\r\n${payload}\r\n`);
  let sent = 0, acked = 0;
  await new Promise((resolve) => {
    sock.on('data', (d) => {
      for (let k = d.indexOf(58); k >= 0; k = d.indexOf(58, k + 1)) acked++; // ':' of each integer reply
      while (sent < M && sent - acked < 16) { sock.write(cmd); sent++; }
      if (acked >= M) resolve();
    });
    while (sent < M && sent < 16) { sock.write(cmd); sent++; }
  });
  sock.destroy();
} else {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
  let next = 0;
  const one = () => new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: Number(pubPort), method: 'POST', path: '/publish?channel=bench', agent,
      headers: { 'content-length': Z } }, (res) => { res.resume(); res.on('end', resolve); });
    req.on('error', reject);
    req.end(payload);
  });
  await Promise.all(Array.from({ length: 16 }, async () => { while (next < M) { next++; await one(); } }));
  agent.destroy();
}
const want = M;
const deadline = Date.now() + 180000;
while (!subs.every((s) => s.got >= want) && Date.now() < deadline) await sleep(10);
const wall = Number(process.hrtime.bigint() - wall0) / 1e9;
const cpu = cpuNs() - cpu0;
const usage = process.cpuUsage(usage0);
const deliveries = subs.reduce((n, s) => n + Math.min(s.got, want), 0);
const ok = deliveries === C * S * M;
console.log(`RESULT status=${ok ? 'ok' : 'failed'} streams=${C * S} conns=${C} msgs=${M} size=${Z} deliveries=${deliveries} ` +
  `elapsed_s=${wall.toFixed(3)} events_per_s=${Math.round(deliveries / wall)} srv_cpu_us_per_event=${(cpu / 1000 / deliveries).toFixed(3)} ` +
  `client_cpu_s=${((usage.user + usage.system) / 1e6).toFixed(2)}`);
for (const s of sessions) s.destroy();
process.exit(ok ? 0 : 1);
