// Process and socket harness for jugglite's integration tests.
//
//   startJugglite(opts) → {respPort, ssePort, proc, stderr(), stop(), target}
//   startRedis(opts)    → {port, proc, output(), stop()}   (Debian's redis-server)
//   freePort()          → a free loopback TCP port
//   RawClient           → a byte-level client over net.Socket
//   spawnTracked(...)   → child_process.spawn whose child is killed at teardown
//
// Every process and socket made here is registered and killed / destroyed by a
// root-level `after` hook and, as a last resort, on process exit, so a failing
// or timed-out test can never leave a server behind.
//
// Environment:
//   JUGGLITE_BIN   the binary (default <repo>/build/jugglite, else build/release/jugglite)
//   JL_SOURCE_DIR  repo root (default: derived from this file's location)
//   JL_TARGET=redis  startJugglite() starts a redis-server instead. Only for
//                  validating the harness and the tests themselves: the
//                  differential tests must then pass trivially.
//   JL_STARTUP_MS  startup deadline for servers (default 10000)
//   JL_KEEP_LOGS=1 always print server output at stop

import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { liveProcs, killProc, exited, spawn } from './registry.mjs';

export * from './resp.mjs';
export * from './registry.mjs';
export { RawClient } from './rawclient.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
export const SOURCE_DIR = process.env.JL_SOURCE_DIR || path.resolve(here, '..', '..', '..');
export const BUILD_DIR = process.env.JL_BUILD_DIR || path.join(SOURCE_DIR, 'build');
export const TARGET = process.env.JL_TARGET === 'redis' ? 'redis' : 'jugglite';
const STARTUP_MS = Number(process.env.JL_STARTUP_MS || 10000);
const OUTPUT_CAP = 4 << 20;

export function jugglitePath() {
  if (process.env.JUGGLITE_BIN) return process.env.JUGGLITE_BIN;
  const candidates = [path.join(SOURCE_DIR, 'build', 'jugglite'), path.join(SOURCE_DIR, 'build', 'release', 'jugglite')];
  return candidates.find((p) => existsSync(p)) || candidates[0];
}

// ---------------------------------------------------------------- ports

const handedOut = new Set();

/** A currently free TCP port on 127.0.0.1 (the OS picks it), never one this
 *  process handed out before: the OS may give a just-closed port again, and
 *  a test asking for several ports in a row must get distinct ones. */
export async function freePort() {
  for (;;) {
    const port = await new Promise((resolve, reject) => {
      const srv = net.createServer();
      srv.unref();
      srv.on('error', reject);
      srv.listen(0, '127.0.0.1', () => {
        const { port: p } = srv.address();
        srv.close(() => resolve(p));
      });
    });
    if (handedOut.has(port)) continue;
    handedOut.add(port);
    return port;
  }
}

// ---------------------------------------------------------------- servers

/** Spawn a server process, capture its output, wait for readiness regexes. */
async function launch({ name, cmd, args, env, ready, startupMs = STARTUP_MS, cwd, onStop }) {
  const proc = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env }, cwd });
  let output = '';
  let stopping = false;
  let starting = true; // startup failures are reported by the rejection instead
  const append = (d) => {
    output += d.toString('latin1');
    if (output.length > OUTPUT_CAP) output = output.slice(-OUTPUT_CAP / 2);
  };
  proc.stdout.on('data', append);
  proc.stderr.on('data', append);
  const cmdline = [cmd, ...args].join(' ');
  const server = {
    name, proc, cmdline,
    output: () => output,
    stderr: () => output,
    /** last lines of output, for failure messages */
    logTail: (n = 40) => output.split('\n').slice(-n).join('\n'),
    get exited() { return exited(proc); },
    /** The process will exit by itself (a restart's hand-over): not "unexpectedly". */
    expectExit() { stopping = true; },
    async stop({ graceMs = 5000 } = {}) {
      if (!stopping) stopping = true;
      const r = await killProc(proc, graceMs);
      liveProcs.delete(entry);
      onStop?.();
      const bad = r.killed || (r.code !== 0 && r.code !== null) || (r.signal && r.signal !== 'SIGTERM');
      if (bad || process.env.JL_KEEP_LOGS) {
        process.stderr.write(`\n----- ${name} (${cmdline}) stopped: code=${r.code} signal=${r.signal}${r.killed ? ' (needed SIGKILL)' : ''}; output:\n${server.logTail(200)}\n-----\n`);
      }
      return { ...r, output };
    },
  };
  const entry = { proc, name, stop: () => server.stop() };
  liveProcs.add(entry);
  proc.on('exit', (code, signal) => {
    if (!stopping && !starting) {
      process.stderr.write(`\n----- ${name} exited unexpectedly: code=${code} signal=${signal} (${cmdline}); output:\n${server.logTail(200)}\n-----\n`);
    }
  });

  const found = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => { cleanup(); reject(new Error(`${name} did not become ready within ${startupMs} ms (${cmdline})\noutput:\n${output}`)); }, startupMs);
    const check = () => {
      const m = ready.map((re) => output.match(re));
      if (m.every(Boolean)) { cleanup(); resolve(m); }
    };
    const onExit = (code, signal) => { setImmediate(() => { cleanup(); reject(new Error(`${name} exited during startup: code=${code} signal=${signal} (${cmdline})\noutput:\n${output}`)); }); };
    const onError = (e) => { cleanup(); reject(new Error(`${name}: cannot spawn ${cmd}: ${e.message}`)); };
    const cleanup = () => { clearTimeout(timer); proc.stdout.off('data', check); proc.stderr.off('data', check); proc.off('exit', onExit); proc.off('error', onError); };
    proc.stdout.on('data', check);
    proc.stderr.on('data', check);
    proc.once('exit', onExit);
    proc.once('error', onError);
    check();
  }).catch(async (e) => { await killProc(proc, 1000); liveProcs.delete(entry); throw e; });
  starting = false;
  return { server, found };
}

/**
 * Start Debian's redis-server on a free loopback port (or opts.port), in its
 * own temp dir, no persistence. Returns {port, proc, output(), logTail(), stop()}.
 */
export async function startRedis(opts = {}) {
  const bin = opts.bin || process.env.JL_REDIS_SERVER || 'redis-server';
  for (let attempt = 0; ; attempt++) {
    const port = opts.port ?? await freePort();
    const dir = mkdtempSync(path.join(os.tmpdir(), 'jl-redis-'));
    const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no',
      '--dir', dir, '--daemonize', 'no', '--logfile', '', ...(opts.args || [])];
    try {
      const { server } = await launch({
        name: `redis-server:${port}`, cmd: bin, args,
        ready: [/Ready to accept connections/],
        onStop: () => rmSync(dir, { recursive: true, force: true }),
      });
      return { ...server, port, respPort: port, ssePort: null, dir, stop: server.stop };
    } catch (e) {
      rmSync(dir, { recursive: true, force: true });
      if (opts.port === undefined && attempt < 3 && /Address already in use/.test(e.message)) continue;
      throw e;
    }
  }
}

/**
 * Start jugglite (or, with JL_TARGET=redis, a redis-server standing in for it).
 * opts: respPort (0 = pick; null = don't pass), ssePort (same), address
 *       (SSE, default 127.0.0.1), respAddress (default 127.0.0.1), logLevel
 *       (default info), args (extra CLI args), env, startupMs,
 *       ready: list of RegExps to wait for instead of the two "listening" lines.
 * Returns {respPort, ssePort, proc, stderr(), output(), logTail(), stop(), target}.
 */
export async function startJugglite(opts = {}) {
  if (TARGET === 'redis') {
    const r = await startRedis({ port: opts.respPort || undefined });
    return { ...r, target: 'redis' };
  }
  const bin = opts.bin || jugglitePath();
  if (!existsSync(bin)) throw new Error(`jugglite binary not found at ${bin} (set JUGGLITE_BIN or build it)`);
  const args = [];
  if (opts.respAddress !== null) args.push('--resp-address', opts.respAddress ?? '127.0.0.1');
  if (opts.respPort !== null) args.push('--resp-port', String(opts.respPort ?? 0));
  if (opts.address !== null) args.push('--address', opts.address ?? '127.0.0.1');
  if (opts.ssePort !== null) args.push('--port', String(opts.ssePort ?? 0));
  if (opts.logLevel !== null) args.push('--log-level', opts.logLevel ?? 'info');
  args.push(...(opts.args || []));
  const ready = opts.ready || [
    ...(opts.respPort === null ? [] : [/RESP listening on (\S+):(\d+)/]),
    ...(opts.ssePort === null ? [] : [/SSE listening on (\S+):(\d+)/]),
  ];
  const { server, found } = await launch({ name: 'jugglite', cmd: bin, args, env: opts.env, ready, startupMs: opts.startupMs });
  const res = { ...server, target: 'jugglite', respPort: null, ssePort: null, respHost: null, sseHost: null, stop: server.stop };
  for (const m of found) {
    if (!m || m.length < 3) continue;
    if (/RESP listening/.test(m[0])) { res.respHost = m[1]; res.respPort = Number(m[2]); }
    if (/SSE listening/.test(m[0])) { res.sseHost = m[1]; res.ssePort = Number(m[2]); }
  }
  res.port = res.respPort;
  return res;
}

export * from './diff.mjs';
export * from './sse.mjs';
