#!/usr/bin/env node
// bridge-latency.mjs -- what the upstream bridge costs a message, end to end.
//
// Two paths, measured in one run, message by message, alternating so that
// both see the same machine at the same moment:
//
//   bridged:  PUBLISH on Redis ──▶ Redis ──▶ jugglite (--upstream) ──▶ SSE client
//   single:   PUBLISH on jugglite's RESP port ──▶ jugglite ──▶ SSE client
//
// One message is in flight at a time: it is published, the script waits
// until its event arrives on the raw SSE socket, then publishes the next one
// on the other path. Latency = arrival (first byte of the event seen by this
// process) - the moment just before the PUBLISH was written, both read from
// the same monotonic clock. Everything runs on 127.0.0.1; the script starts
// and stops its own redis-server and two jugglite processes.
//
//   node bench/bridge-latency.mjs [--n 10000] [--warmup 500] [--size 64]
//                                 [--bin build/jugglite] [--json]

import { spawn } from 'node:child_process';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const opt = { n: 10000, warmup: 500, size: 64, bin: path.join(here, '..', 'build', 'jugglite'), json: false };
for (let i = 2; i < process.argv.length; i++) {
  const a = process.argv[i].replace(/^--/, '');
  if (a === 'json') opt.json = true;
  else if (a in opt) opt[a] = typeof opt[a] === 'number' ? Number(process.argv[++i]) : process.argv[++i];
  else { console.error(`unknown option --${a}`); process.exit(2); }
}
if (process.env.JUGGLITE_BIN) opt.bin = process.env.JUGGLITE_BIN;
if (!existsSync(opt.bin)) { console.error(`no jugglite binary at ${opt.bin} (--bin)`); process.exit(2); }

const children = [];
const tmp = mkdtempSync(path.join(os.tmpdir(), 'jl-bridge-lat-'));
function cleanup() {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGTERM');
  rmSync(tmp, { recursive: true, force: true });
}
process.on('exit', cleanup);
for (const s of ['SIGINT', 'SIGTERM']) process.on(s, () => process.exit(130));

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer().on('error', reject);
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
  });
}

/** Starts a process and resolves with the regex matches once all appear. */
function start(cmd, args, ready, ms = 10000) {
  const p = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(p);
  let out = '';
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`${cmd} not ready in ${ms} ms:\n${out}`)), ms);
    const check = (d) => {
      out += d;
      const m = ready.map((re) => out.match(re));
      if (m.every(Boolean)) { clearTimeout(t); resolve(m); }
    };
    p.stdout.on('data', check);
    p.stderr.on('data', check);
    p.on('exit', (code) => { clearTimeout(t); reject(new Error(`${cmd} exited (${code}):\n${out}`)); });
  });
}

const LISTEN = [/RESP listening on \S+:(\d+)/, /SSE listening on \S+:(\d+)/];

function connect(port) {
  return new Promise((resolve, reject) => {
    const s = net.connect({ port, host: '127.0.0.1' });
    s.setNoDelay(true);
    s.once('error', reject);
    s.once('connect', () => resolve(s));
  });
}

/** A raw SSE client: calls onEvent(data, arrivalNs) for every event. */
async function sse(port, channel, onEvent) {
  const s = await connect(port);
  s.write(`GET /stream?channel=${channel} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n`);
  let buf = '';
  let registered;
  const ready = new Promise((r) => { registered = r; });
  s.on('data', (d) => {
    const now = process.hrtime.bigint();
    buf += d.toString('latin1');
    if (buf.includes(': registered to channels:')) registered();
    let i;
    while ((i = buf.indexOf('\n\n')) >= 0) {
      const block = buf.slice(0, i);
      buf = buf.slice(i + 2);
      const line = block.split('\n').find((l) => l.startsWith('data: '));
      if (line) onEvent(line.slice(6), now);
    }
  });
  await ready;
  return s;
}

const cmd = (...args) => `*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`;

function stats(ns) {
  const us = ns.map((x) => Number(x) / 1000).sort((a, b) => a - b);
  const q = (p) => us[Math.min(us.length - 1, Math.floor(p * us.length))];
  const mean = us.reduce((a, b) => a + b, 0) / us.length;
  return { n: us.length, p50: q(0.5), p90: q(0.9), p99: q(0.99), p999: q(0.999), max: us[us.length - 1], mean };
}

async function main() {
  const redisPort = await freePort();
  await start('redis-server', ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '',
    '--appendonly', 'no', '--dir', tmp, '--logfile', ''], [/Ready to accept connections/]);
  const common = ['--resp-port', '0', '--port', '0', '--address', '127.0.0.1', '--log-level', 'info'];
  const [bridged, single] = await Promise.all([
    start(opt.bin, [...common, '--upstream', `redis://127.0.0.1:${redisPort}`], LISTEN),
    start(opt.bin, common, LISTEN),
  ]);
  const port = (m, i) => Number(m[i][1]);   // LISTEN order: RESP, SSE

  const paths = {
    bridged: { pub: await connect(redisPort), sse: port(bridged, 1), lat: [] },
    single: { pub: await connect(port(single, 0)), sse: port(single, 1), lat: [] },
  };
  let waiting = null;   // {seq, sentNs, resolve}
  for (const [name, p] of Object.entries(paths)) {
    p.pub.on('data', () => {});   // PUBLISH replies: not measured
    p.client = await sse(p.sse, 'lat', (data, at) => {
      const seq = Number(data.slice(0, data.indexOf(' ')));
      if (!waiting || seq !== waiting.seq || waiting.path !== name) throw new Error(`${name}: unexpected event ${data.slice(0, 40)}`);
      const w = waiting;
      waiting = null;
      w.resolve(at - w.sentNs);
    });
  }
  // The bridged node's SSE subscription must be live upstream: the
  // registration comment is sent only once Redis confirmed it.

  const pad = 'x'.repeat(Math.max(0, opt.size - 8));
  const total = opt.warmup + opt.n;
  for (let i = 0; i < total; i++) {
    for (const name of i % 2 ? ['single', 'bridged'] : ['bridged', 'single']) {
      const p = paths[name];
      const payload = `${i} ${pad}`;
      const done = new Promise((resolve, reject) => {
        waiting = { seq: i, path: name, resolve, sentNs: 0n };
        setTimeout(() => reject(new Error(`${name}: message ${i} did not arrive in 5 s`)), 5000).unref();
      });
      const frame = cmd('PUBLISH', 'lat', payload);
      waiting.sentNs = process.hrtime.bigint();
      p.pub.write(frame);
      const ns = await done;
      if (i >= opt.warmup) p.lat.push(ns);
    }
  }

  const res = Object.fromEntries(Object.entries(paths).map(([k, p]) => [k, stats(p.lat)]));
  if (opt.json) {
    console.log(JSON.stringify({ ...opt, results: res }));
  } else {
    const f = (x) => x.toFixed(0).padStart(7);
    console.log(`${opt.n} messages per path (+${opt.warmup} warm-up), ${opt.size}-byte payload, one in flight, loopback`);
    console.log(`binary ${opt.bin}`);
    console.log('path       p50 µs  p90 µs  p99 µs p99.9 µs  max µs  mean µs');
    for (const [k, s] of Object.entries(res)) {
      console.log(`${k.padEnd(8)} ${f(s.p50)} ${f(s.p90)} ${f(s.p99)} ${f(s.p999)}  ${f(s.max)} ${f(s.mean)}`);
    }
  }
  for (const p of Object.values(paths)) { p.pub.destroy(); p.client.destroy(); }
}

main().then(() => process.exit(0), (e) => { console.error(e.stack || e); process.exit(1); });
