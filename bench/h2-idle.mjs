// h2-idle.mjs -- what an idle HTTP/2 SSE stream costs a server, for bench/compare's
// tls workload (loadgen speaks HTTP/1.1 only).
//
// Opens CONNS HTTP/2 connections over TLS to https://127.0.0.1:PORT and STREAMS
// EventSource-style streams on each (GET PATH, Accept: text/event-stream), waits
// until every stream has its response head, holds them HOLD seconds, and reports
// the servers' RSS growth (the sum over PIDS, from /proc) per stream and per
// connection. Node's http2 is the client: nothing here is timed, only memory is
// read, so the client's speed does not enter the figure. The certificate is not
// checked (a benchmark, not a client to trust).
//
// usage: node bench/h2-idle.mjs PORT PIDS(comma) CONNS STREAMS [HOLD] [PATH]
// prints: RESULT status=ok streams=N conns=C rss_before_kb=.. rss_idle_kb=..
//         idle_bytes_per_stream=.. idle_bytes_per_conn=..
import http2 from 'node:http2';
import { readFileSync } from 'node:fs';

const [port, pidList, conns = '10', streams = '100', hold = '3', path = '/stream?channel=idle'] = process.argv.slice(2);
const pids = pidList.split(',').map(Number);
const rssKb = () => pids.reduce((sum, pid) => {
  try { return sum + Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]); } catch { return sum; }
}, 0);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const C = Number(conns), S = Number(streams);
await sleep(500);
const before = rssKb();
const sessions = [];
let heads = 0, failed = 0;
for (let i = 0; i < C; i++) {
  const session = http2.connect(`https://127.0.0.1:${port}`, { rejectUnauthorized: false, settings: { initialWindowSize: 1 << 20 } });
  session.on('error', () => { failed++; });
  sessions.push(session);
  for (let j = 0; j < S; j++) {
    const req = session.request({ ':path': path, accept: 'text/event-stream' });
    req.on('response', (h) => { if (h[':status'] === 200) heads++; else failed++; });
    req.on('data', () => {});
    req.on('error', () => { failed++; });
  }
  await sleep(10);
}
const deadline = Date.now() + 60000;
while (heads + failed < C * S && Date.now() < deadline) await sleep(50);
await sleep(Number(hold) * 1000);
const idle = rssKb();
const ok = heads === C * S && failed === 0;
const perStream = Math.round(((idle - before) * 1024) / (C * S));
const perConn = Math.round(((idle - before) * 1024) / C);
console.log(`RESULT status=${ok ? 'ok' : 'failed'} streams=${C * S} conns=${C} heads=${heads} failed=${failed} ` +
  `rss_before_kb=${before} rss_idle_kb=${idle} idle_bytes_per_stream=${perStream} idle_bytes_per_conn=${perConn}`);
for (const s of sessions) s.destroy();
process.exit(ok ? 0 : 1);
