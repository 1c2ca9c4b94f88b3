// Registry of every process and socket the tests create, so that teardown
// (a root-level after() hook, and process exit as a last resort) can always
// kill / destroy them, even when a test failed or timed out.

import { spawn as rawSpawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { after } from 'node:test';

// util-linux's setpriv execs the command with PR_SET_PDEATHSIG, so a server
// dies with this node process even if node is SIGKILLed (e.g. by a CTest
// timeout) and no exit handler can run. The pid stays the same (exec).
const SETPRIV = ['/usr/bin/setpriv', '/bin/setpriv'].find((p) => existsSync(p));

/** child_process.spawn, with the child bound to die with this process. */
export function spawn(cmd, args = [], opts = {}) {
  if (SETPRIV && !process.env.JL_NO_PDEATHSIG) return rawSpawn(SETPRIV, ['--pdeathsig', 'KILL', '--', cmd, ...args], opts);
  return rawSpawn(cmd, args, opts);
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Polls pred (sync or async) every 20 ms until it is truthy; throws naming
 *  `what` after ms. A deadline, not a timing: nothing is measured. */
export async function until(pred, what, ms = 20000) {
  const end = Date.now() + ms;
  while (!(await pred())) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms: ${what}`);
    await sleep(20);
  }
}

/** Race a promise against a deadline; rejects with `what` on timeout. */
export function withTimeout(promise, ms, what = 'operation') {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, rej) => { timer = setTimeout(() => rej(new Error(`timeout after ${ms} ms: ${what}`)), ms); }),
  ]).finally(() => clearTimeout(timer));
}

// ---------------------------------------------------------------- registry

export const liveProcs = new Set();   // {proc, name}
const liveSockets = new Set(); // RawClient / net.Socket-like with destroy()

function killAllSync() {
  for (const p of liveProcs) {
    try { if (p.proc.exitCode === null && p.proc.signalCode === null) p.proc.kill('SIGKILL'); } catch { /* gone */ }
  }
  liveProcs.clear();
}

process.on('exit', killAllSync);
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.once(sig, () => { killAllSync(); process.exit(130); });
}

/** Destroy every tracked socket and stop every tracked process. Called by a
 *  root-level after() hook; safe to call more than once. */
export async function cleanupAll() {
  for (const s of liveSockets) { try { s.destroy(); } catch { /* ignore */ } }
  liveSockets.clear();
  await Promise.all([...liveProcs].map((p) => p.stop ? p.stop().catch(() => {}) : killProc(p.proc)));
  killAllSync();
}
after(cleanupAll);

export function trackSocket(s) { liveSockets.add(s); return s; }
export function untrackSocket(s) { liveSockets.delete(s); }

export function exited(proc) { return proc.exitCode !== null || proc.signalCode !== null; }

export function waitExit(proc, ms) {
  if (exited(proc)) return Promise.resolve(true);
  return new Promise((resolve) => {
    const t = setTimeout(() => { proc.off('exit', on); resolve(false); }, ms);
    const on = () => { clearTimeout(t); resolve(true); };
    proc.once('exit', on);
  });
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves once the process is gone. */
export async function killProc(proc, graceMs = 3000) {
  if (exited(proc)) return { code: proc.exitCode, signal: proc.signalCode, killed: false };
  try { proc.kill('SIGTERM'); } catch { /* ignore */ }
  let killed = false;
  if (!(await waitExit(proc, graceMs))) {
    killed = true;
    try { proc.kill('SIGKILL'); } catch { /* ignore */ }
    await waitExit(proc, 5000);
  }
  return { code: proc.exitCode, signal: proc.signalCode, killed };
}

/** spawn() whose child is killed at teardown. Captures stdout/stderr into
 *  .out() / .err() (strings) as well as emitting the usual events. */
export function spawnTracked(cmd, args = [], opts = {}) {
  const proc = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'], ...opts });
  const entry = { proc, name: cmd };
  liveProcs.add(entry);
  let out = '', err = '';
  proc.stdout?.on('data', (d) => { out += d.toString('latin1'); });
  proc.stderr?.on('data', (d) => { err += d.toString('latin1'); });
  proc.on('exit', () => liveProcs.delete(entry));
  proc.on('error', () => liveProcs.delete(entry));
  proc.out = () => out;
  proc.err = () => err;
  proc.stop = (grace = 2000) => killProc(proc, grace);
  /** wait until stdout satisfies pred(out) (string or RegExp or function) */
  proc.waitStdout = (pred, ms = 5000) => waitText(proc, () => out, pred, ms, `${cmd} stdout`);
  proc.waitExit = async (ms = 10000) => {
    if (!(await waitExit(proc, ms))) throw new Error(`${cmd} ${args.join(' ')} did not exit within ${ms} ms\nstdout: ${out}\nstderr: ${err}`);
    return { code: proc.exitCode, signal: proc.signalCode, out, err };
  };
  return proc;
}

function matches(text, pred) {
  if (typeof pred === 'string') return text.includes(pred);
  if (pred instanceof RegExp) return pred.test(text);
  return pred(text);
}

function waitText(proc, get, pred, ms, what) {
  return new Promise((resolve, reject) => {
    const check = () => {
      if (matches(get(), pred)) { done(); resolve(get()); return true; }
      return false;
    };
    const onExit = () => { setImmediate(() => { if (!check()) { done(); reject(new Error(`${what}: process exited before ${pred} (got ${JSON.stringify(get())})`)); } }); };
    const t = setTimeout(() => { done(); reject(new Error(`${what}: timeout after ${ms} ms waiting for ${pred}; got ${JSON.stringify(get().slice(-2000))}`)); }, ms);
    const done = () => { clearTimeout(t); proc.stdout?.off('data', check); proc.stderr?.off('data', check); proc.off('exit', onExit); };
    proc.stdout?.on('data', check);
    proc.stderr?.on('data', check);
    proc.on('exit', onExit);
    check();
  });
}

