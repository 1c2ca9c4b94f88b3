// Helpers for the hostile-client tests (hostile_*.test.mjs, shutdown.test.mjs):
// process measurements from /proc, sizes that shrink under sanitizers, a
// liveness probe ("other clients are unaffected"), and bulk socket helpers.
//
// No helper here asserts anything about wall-clock speed: the tests compare
// counts, bytes and CPU *time* (with generous bounds) so that a slow or
// loaded machine can make them slower but never make them fail.
//
// Environment:
//   JL_SANITIZED=1     the binary is an ASan/UBSan build: smaller volumes and
//                      wider memory margins (ASan keeps freed memory in
//                      quarantine and has shadow memory).
//   JL_VALGRIND=1 or JUGGLITE_WRAPPER   the server runs under valgrind (see
//                      tests/valgrind-jugglite.sh): smaller still.

import { readFileSync } from 'node:fs';
import net from 'node:net';
import { execFileSync } from 'node:child_process';
import { RawClient, encode, sleep, trackSocket, untrackSocket, withTimeout, httpRequest } from './harness.mjs';

export const WRAPPED = Boolean(process.env.JUGGLITE_WRAPPER || process.env.JL_VALGRIND);
export const SANITIZED = process.env.JL_SANITIZED === '1' || /(^|[\/-])asan(\/|$)/.test(process.env.JL_BUILD_DIR || '');
export const MiB = 1 << 20;

/** Pick a size: normal build, sanitized build, wrapped (valgrind) run. */
export function scaled(normal, sanitized = normal, wrapped = sanitized) {
  if (WRAPPED) return wrapped;
  return SANITIZED ? sanitized : normal;
}

/** Allowed RSS growth after a hostile episode, in bytes. */
export const RSS_SLACK = scaled(50 * MiB, 64 * MiB, 200 * MiB);

/** Extra environment for a server started by these tests: under ASan, a
 *  small quarantine so that freed memory really is given back. */
export function serverEnv() {
  const env = {};
  if (process.env.ASAN_OPTIONS !== undefined || SANITIZED) {
    env.ASAN_OPTIONS = [process.env.ASAN_OPTIONS, 'quarantine_size_mb=16', 'allocator_release_to_os_interval_ms=100']
      .filter(Boolean).join(':');
  }
  return env;
}

// ---------------------------------------------------------------- /proc

/** Resident set size of pid in bytes (VmRSS). */
export function rss(pid) {
  const m = readFileSync(`/proc/${pid}/status`, 'latin1').match(/^VmRSS:\s+(\d+)\s+kB/m);
  if (!m) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(m[1]) * 1024;
}

let clkTck = 0;
function ticksPerSecond() {
  if (!clkTck) {
    try { clkTck = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100; } catch { clkTck = 100; }
  }
  return clkTck;
}

/** CPU time (user + system) consumed by pid so far, in seconds. */
export function cpuSeconds(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
  // The command name (field 2) may hold spaces: split after its ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state); utime is field 14, stime field 15.
  return (Number(fields[11]) + Number(fields[12])) / ticksPerSecond();
}

/** Number of open file descriptors of pid. */
export function openFds(pid) {
  return Number(execFileSync('sh', ['-c', `ls /proc/${pid}/fd | wc -l`]).toString().trim());
}

/** Waits until RSS <= limit (freed memory can reach the OS a little late);
 *  returns the last reading. */
export async function rssSettles(pid, limit, ms = 5000) {
  const deadline = Date.now() + ms;
  let r = rss(pid);
  while (r > limit && Date.now() < deadline) {
    await sleep(100);
    r = rss(pid);
  }
  return r;
}

/** Samples RSS every `every` ms while `promise` runs; returns {value, peak}. */
export async function withPeakRss(pid, promise, every = 20) {
  let peak = rss(pid);
  const iv = setInterval(() => { try { peak = Math.max(peak, rss(pid)); } catch { /* exited */ } }, every);
  try {
    const value = await promise;
    peak = Math.max(peak, rss(pid));
    return { value, peak };
  } finally {
    clearInterval(iv);
  }
}

export const fmtMiB = (b) => `${(b / MiB).toFixed(1)} MiB`;

// ---------------------------------------------------------------- RESP

/** INFO as an object of field → string. */
export async function info(port) {
  const c = await RawClient.connect(port);
  try {
    return await infoOn(c);
  } finally {
    c.close();
  }
}

/** INFO over an existing connection (useful when no new one can be made). */
export async function infoOn(c, section = 'everything') {
  await c.send(encode('INFO', section));
  const { node } = await c.readFrame(10000);
  const text = Buffer.isBuffer(node.v) ? node.v.toString('latin1') : String(node.v);
  const out = {};
  for (const line of text.split('\r\n')) {
    const i = line.indexOf(':');
    if (i > 0 && !line.startsWith('#')) out[line.slice(0, i)] = line.slice(i + 1);
  }
  return out;
}

/** A RESP client subscribed to `channel` (confirmation consumed). */
export async function subscriber(port, channel) {
  const c = await RawClient.connect(port);
  await c.send(encode('SUBSCRIBE', channel));
  await c.readFrame();
  return c;
}

/** Publishes and returns the receiver count. */
export async function publish(port, channel, payload) {
  const c = await RawClient.connect(port);
  try {
    const raw = await c.call(['PUBLISH', channel, payload], 10000);
    const m = raw.toString('latin1').match(/^:(\d+)\r\n$/);
    if (!m) throw new Error(`PUBLISH replied ${JSON.stringify(raw.toString('latin1'))}`);
    return Number(m[1]);
  } finally {
    c.close();
  }
}

/** The RESP2 message frame a subscriber of `channel` receives. */
export function messageFrame(channel, payload) {
  const p = Buffer.from(payload);
  const ch = Buffer.from(channel);
  return Buffer.concat([Buffer.from(`*3\r\n$7\r\nmessage\r\n$${ch.length}\r\n`), ch,
    Buffer.from(`\r\n$${p.length}\r\n`), p, Buffer.from('\r\n')]);
}

/** Reads one message frame and checks it is (channel, payload). */
export async function expectMessage(c, channel, payload, timeout = 10000) {
  const want = messageFrame(channel, payload);
  const got = await c.readExactly(want.length, timeout);
  if (!got.equals(want)) throw new Error(`expected ${JSON.stringify(want.toString('latin1').slice(0, 200))}, got ${JSON.stringify(got.toString('latin1').slice(0, 200))}`);
}

/** Proves the server still serves everybody else: a fresh RESP subscriber,
 *  a fresh SSE stream (when sse is given), and a fresh publisher all work,
 *  plus any already-connected `watchers` (RESP subscribers of `channel`). */
export async function assertServing(srv, { channel = 'probe', watchers = [], sse = srv.ssePort != null } = {}) {
  const sub = await subscriber(srv.respPort, channel);
  let stream = null;
  try {
    if (sse) stream = await sseOpen(srv.ssePort, channel);
    const payload = `alive-${Date.now()}-${Math.random()}`;
    const n = await publish(srv.respPort, channel, payload);
    const want = 1 + watchers.length + (stream ? 1 : 0);
    if (n < want) throw new Error(`PUBLISH reached ${n} receivers, expected at least ${want}`);
    await expectMessage(sub, channel, payload);
    for (const w of watchers) await expectMessage(w, channel, payload);
    if (stream) await expectSseEvent(stream, payload);
  } finally {
    sub.close();
    stream?.close();
  }
}

// ---------------------------------------------------------------- HTTP / SSE

/** Reads a raw SSE stream (RawClient) up to the event carrying `payload`
 *  and checks its frame: the server's `id: <ms>-<seq>` right before its
 *  one data line (a standalone node gives every event an id). */
export async function expectSseEvent(c, payload, timeout = 10000) {
  const got = (await c.readUntilString(`data: ${payload}\n\n`, timeout)).toString('latin1');
  const frame = got.slice(got.lastIndexOf('\n\n', got.length - 3) + 1).replace(/^\n/, '');
  if (!/(^|\n)id: \d+-\d+\ndata: [^\n]*\n\n$/.test(frame)) {
    throw new Error(`no id: line right before data: in ${JSON.stringify(frame.slice(-300))}`);
  }
  return got;
}

/** Opens GET /stream?channel=… as a raw client and waits for the
 *  registration comment. */
export async function sseOpen(port, channel, { path = '/stream' } = {}) {
  const c = await RawClient.connect(port);
  await c.send(`GET ${path}?channel=${encodeURIComponent(channel)} HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n`);
  await c.readUntilString(': registered to channels:', 10000);
  await c.readUntilString('\n', 10000);
  return c;
}

/** Whether the HTTP listener serves SSE yet (the module may be a stub). */
export async function sseAvailable(port) {
  if (port == null) return false;
  try {
    const c = await RawClient.connect(port);
    try {
      await c.send('GET /stream?channel=x HTTP/1.1\r\nHost: x\r\n\r\n');
      const got = await c.readUntilString('\r\n\r\n', 3000);
      return /^HTTP\/1\.1 200/.test(got.toString('latin1')) && /text\/event-stream/i.test(got.toString('latin1'));
    } finally {
      c.close();
    }
  } catch {
    return false;
  }
}

export { httpRequest };

// ---------------------------------------------------------------- sockets

/** Raw net.Socket connect with optional local address; resolves on connect. */
export function rawConnect(port, { host = '127.0.0.1', localAddress, timeout = 10000 } = {}) {
  return withTimeout(new Promise((resolve, reject) => {
    const s = net.connect({ port, host, localAddress });
    s.once('error', reject);
    s.once('connect', () => { s.off('error', reject); s.on('error', () => {}); resolve(s); });
  }), timeout, `connect :${port}`);
}

/** Sets SO_LINGER {on, 0} and closes: the peer gets an RST. */
export function resetSocket(s) {
  if (typeof s.resetAndDestroy === 'function') s.resetAndDestroy();
  else s.destroy();
}

/** Writes `bytes` one at a time every `everyMs` until stop() is called or
 *  the peer closes. Returns {sent(), closed(), stop(), done}. */
export function trickle(sock, bytes, everyMs) {
  const b = Buffer.from(bytes);
  let i = 0;
  let closed = false;
  let stopped = false;
  sock.on('close', () => { closed = true; });
  sock.on('error', () => { closed = true; });
  const done = (async () => {
    while (!stopped && !closed) {
      const chunk = b.subarray(i % b.length, i % b.length + 1);
      try { sock.write(chunk); } catch { closed = true; break; }
      i++;
      await sleep(everyMs);
    }
  })();
  return { sent: () => i, closed: () => closed, stop: () => { stopped = true; return done; }, done };
}

/** Waits for `sock` (a net.Socket) to be closed by the peer. */
export function socketClosed(sock, timeout = 10000) {
  if (sock.destroyed || sock.closed) return Promise.resolve(true);
  return withTimeout(new Promise((resolve) => sock.once('close', () => resolve(true))), timeout, 'peer close');
}

/** Tracks a net.Socket for teardown. */
export function tracked(sock) {
  const t = { destroy: () => sock.destroy() };
  trackSocket(t);
  sock.once('close', () => untrackSocket(t));
  return sock;
}

/** The loopback source addresses 127.0.0.1 .. 127.0.0.n, for spreading many
 *  connections over more than one ephemeral-port range. */
export function loopbackSources(n) {
  return Array.from({ length: n }, (_, i) => `127.0.0.${i + 1}`);
}
