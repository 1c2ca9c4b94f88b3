#!/usr/bin/env node
// cpu-split.mjs -- who was busy while the events were delivered: the server
// or the load generator?
//
// Why this exists: on two shared cores, reading an event costs bench/loadgen
// about as much as writing it costs the server, so a fan-out figure may
// measure the client, not the server. loadgen reports the server's CPU over
// its publish phase; this wrapper adds the same figure for loadgen itself
// (the controller/publisher and every forked worker), over the same window.
//
// It runs one loadgen command (without --quiet: it watches stderr for the
// "publishing" line), samples /proc/PID/task/*/schedstat of the loadgen
// process tree and of the server pids every 20 ms, and after loadgen exits
// takes the window [publishing line, + deliver_s from the RESULT line] (pub_s
// when nothing was delivered: publish-only runs, where "event" means "message").
// Busy = CPU time in the window / window length (1.0 = one core flat out).
// With the servers pinned to one CPU and loadgen to the other, the side near
// 1.0 is the limit; if neither is, the window (publisher round trips) is.
//
//   node bench/cpu-split.mjs --server-pid PID[,PID..] -- taskset -c 1 build/bench/loadgen ...
//
// Prints loadgen's output, then one line:
//   SPLIT window_s=.. srv_cpu_ms=.. srv_busy=.. lg_cpu_ms=.. lg_busy=..
//         srv_us_per_event=.. lg_us_per_event=.. sampler_cpu_ms=..
// Exit status: loadgen's.

import { spawn } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';

const argv = process.argv.slice(2);
const sep = argv.indexOf('--');
if (sep < 0 || sep === argv.length - 1) {
  console.error('usage: cpu-split.mjs [--server-pid PID[,PID..]] -- LOADGEN_COMMAND...');
  process.exit(2);
}
let serverPids = [];
for (let i = 0; i < sep; i++) {
  if (argv[i] === '--server-pid') serverPids = argv[++i].split(',').map(Number).filter(Boolean);
  else { console.error(`cpu-split: unknown option ${argv[i]}`); process.exit(2); }
}
const cmd = argv.slice(sep + 1);

const nowS = () => Number(process.hrtime.bigint()) / 1e9;

function schedNs(pid) {           // on-CPU ns over every thread of pid
  let total = 0;
  let tids;
  try { tids = readdirSync(`/proc/${pid}/task`); } catch { return 0; }
  for (const t of tids) {
    try { total += Number(readFileSync(`/proc/${pid}/task/${t}/schedstat`, 'utf8').split(' ')[0]); } catch { /* gone */ }
  }
  return total;
}

function children(pid) {
  try {
    return readdirSync(`/proc/${pid}/task`).flatMap((t) => {
      try { return readFileSync(`/proc/${pid}/task/${t}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number); } catch { return []; }
    });
  } catch { return []; }
}

// The tree's CPU is the sum over the processes alive now plus the last value
// seen for those that exited (a worker's final slice after the last sample is
// lost, but the window ends when the last event arrived, before they exit).
const lastSeen = new Map();
function treeNs(root) {
  const stack = [root];
  while (stack.length) {
    const p = stack.pop();
    const v = schedNs(p);
    if (v > 0) lastSeen.set(p, v);
    stack.push(...children(p));
  }
  let s = 0;
  for (const v of lastSeen.values()) s += v;
  return s;
}

const child = spawn(cmd[0], cmd.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
const samples = [];               // [t, loadgen ns, server ns]
let tPub = 0;
let out = '';
let errBuf = '';
const sample = () => samples.push([nowS(), treeNs(child.pid), serverPids.reduce((a, p) => a + schedNs(p), 0)]);
const timer = setInterval(sample, 20);
child.stdout.on('data', (d) => { out += d; process.stdout.write(d); });
child.stderr.on('data', (d) => {
  process.stderr.write(d);
  errBuf += d;
  if (!tPub && /publishing /.test(errBuf)) { tPub = nowS(); sample(); }
});
for (const s of ['SIGINT', 'SIGTERM']) process.on(s, () => child.kill('SIGTERM'));

child.on('exit', (code, signal) => {
  clearInterval(timer);
  const res = (out.match(/^RESULT .*$/m) || [''])[0];
  const kv = (k) => { const m = res.match(new RegExp(`(?:^| )${k}=(\\S+)`)); return m ? Number(m[1]) : NaN; };
  // the delivery window; with no subscribers (publish-only runs), the publish window
  const deliverS = kv('deliver_s') > 0 ? kv('deliver_s') : kv('pub_s');
  const delivered = kv('delivered') > 0 ? kv('delivered') : kv('pub_acked');
  // value of column c at time t, interpolated between samples
  const at = (t, c) => {
    let i = samples.findIndex((s) => s[0] >= t);
    if (i < 0) i = samples.length - 1;
    if (i === 0) return samples[0][c];
    const [a, b] = [samples[i - 1], samples[i]];
    const f = b[0] > a[0] ? Math.min(1, Math.max(0, (t - a[0]) / (b[0] - a[0]))) : 1;
    return a[c] + f * (b[c] - a[c]);
  };
  const cpu = process.cpuUsage();
  const fmt = (v, d = 3) => (Number.isFinite(v) ? v.toFixed(d) : 'NA');
  if (tPub && deliverS > 0 && samples.length > 1) {
    const t1 = tPub + deliverS;
    const lg = (at(t1, 1) - at(tPub, 1)) / 1e6;
    const srv = (at(t1, 2) - at(tPub, 2)) / 1e6;
    console.log(`SPLIT window_s=${fmt(deliverS, 4)} srv_cpu_ms=${fmt(srv, 1)} srv_busy=${fmt(srv / 1e3 / deliverS, 2)}` +
      ` lg_cpu_ms=${fmt(lg, 1)} lg_busy=${fmt(lg / 1e3 / deliverS, 2)}` +
      ` srv_us_per_event=${fmt((srv * 1e3) / delivered)} lg_us_per_event=${fmt((lg * 1e3) / delivered)}` +
      ` sampler_cpu_ms=${fmt((cpu.user + cpu.system) / 1e3, 0)}`);
  } else {
    console.log('SPLIT status=no-window');
  }
  process.exit(signal ? 1 : code);
});
