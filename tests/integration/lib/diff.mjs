// Differential testing: the same bytes to a reference redis-server and to
// jugglite, compare the bytes that come back.
//
//   await diff(script, { ref: refPort, sub: subPort, name: 'what' })
//
// A script is a list of steps. Connections are named ('a', 'b', …) and opened
// lazily, one per side, on first use. A step:
//   { on: 'a', send: ['SUBSCRIBE', 'x'] }     args → RESP array of bulk strings
//   { on: 'a', send: 'PING\r\n' }             raw bytes (string = latin1, or Buffer)
//   { on: 'a', chunks: ['*1\r\n$4\r', '\nPING\r\n'], gap: 30 }  several writes
//   { on: 'a' }                               send nothing, just read
//   { on: 'a', close: true }                  we close connection a (no compare)
//   { sleep: 50 }                             wait (e.g. let the servers settle)
// options per step:
//   compare: 'exact' (default) | 'multiset' (top-level frames as a multiset) |
//            'unorderedArray' (inside each aggregate the elements are a multiset) |
//            'unsubAll' (UNSUBSCRIBE-without-args frames: names as a multiset) |
//            'pmessageRuns' (runs of pmessage frames as multisets: pattern dict order) |
//            'shape' (same frame count and top-level types) | 'skip' |
//            a function (refBuf, subBuf, step, peers) → undefined if fine, else
//            a string; peers = {ref, sub}, each {byAddr: Map('ip:port' → id),
//            path} -- who the side's connections are as the server sees
//            them (for MONITOR lines, which name the peer)
//   compareOthers: how to compare the other connections' bytes (default 'exact')
// options per script (diff's opts): compare, the default of both of the above
//   note: text shown in failure output
//   quiet: ms of silence that ends a read (default JL_DIFF_QUIET_MS or 40)
//
// After every step, every open connection on both sides is read until it has
// been quiet for `quiet` ms; a side with fewer complete RESP frames than the
// other (or half a frame) is given up to JL_DIFF_SLOW_MS (default 3000) more to
// catch up, within a budget of JL_DIFF_SLOW_BUDGET_MS (default 20000) per script. Then, per connection,
// the bytes and the open/closed state are compared. All mismatches are
// collected and reported together with both byte streams rendered one RESP
// frame per line (\r\n escaped).

import assert from 'node:assert/strict';
import { RawClient } from './rawclient.mjs';
import { encode, toBuf, escapeBytes, splitFrames, renderFrames, unknownCommandError } from './resp.mjs';

const QUIET = Number(process.env.JL_DIFF_QUIET_MS || 40);
const SLOW = Number(process.env.JL_DIFF_SLOW_MS || 3000);
const SLOW_BUDGET = Number(process.env.JL_DIFF_SLOW_BUDGET_MS || 20000);

function stepBytes(step) {
  if (step.send === undefined) return null;
  if (Array.isArray(step.send)) return encode(step.send);
  return toBuf(step.send);
}

function describeStep(i, step) {
  let what;
  if (step.note) what = step.note;
  else if (Array.isArray(step.send)) what = step.send.map(String).join(' ');
  else if (step.send !== undefined) what = escapeBytes(step.send, 120);
  else if (step.chunks) what = step.chunks.map((c) => escapeBytes(c, 60)).join(' | ');
  else if (step.close) what = '(close)';
  else what = '(read)';
  return `step ${i} [${step.on ?? '-'}] ${what}`;
}

class Side {
  constructor(name, target) {
    this.name = name;
    this.target = typeof target === 'object' ? target : { port: target };
    this.conns = new Map();
    this.byAddr = new Map();    // 'ip:port' of our end → connection id, kept after a close
  }
  async conn(id) {
    if (!this.conns.has(id)) {
      const c = await RawClient.connect({ ...this.target, label: `${this.name}/${id}` });
      this.conns.set(id, c);
      if (c.sock.localPort) this.byAddr.set(`${c.sock.localAddress}:${c.sock.localPort}`, id);
    }
    return this.conns.get(id);
  }
  closeAll() { for (const c of this.conns.values()) c.close(); this.conns.clear(); }
  /** Who this side's connections are as its server sees them. */
  peers() { return { byAddr: this.byAddr, path: this.target.path }; }
}

// ------------------------------------------------------------ comparators

function exactCmp(r, s) {
  return r.equals(s) ? undefined : 'bytes differ';
}

function frameRaws(buf) {
  const { frames, rest } = splitFrames(buf);
  const raws = frames.map((f) => f.raw.toString('latin1'));
  if (rest.length) raws.push('[rest]' + rest.toString('latin1'));
  return raws;
}

function multisetCmp(r, s) {
  const a = frameRaws(r).sort();
  const b = frameRaws(s).sort();
  return JSON.stringify(a) === JSON.stringify(b) ? undefined : 'frames differ (compared as a multiset)';
}

function unorderedArrayCmp(r, s) {
  const norm = (buf) => {
    const { frames, rest } = splitFrames(buf);
    return JSON.stringify([frames.map((f) => {
      if (Array.isArray(f.v) && f.t !== '%') {
        const head = f.raw.subarray(0, f.raw.indexOf('\r\n') + 2).toString('latin1');
        return head + f.v.map((c) => c.raw.toString('latin1')).sort().join('');
      }
      return f.raw.toString('latin1');
    }), rest.toString('latin1')]);
  };
  return norm(r) === norm(s) ? undefined : 'frames differ (aggregate elements compared as multisets)';
}

/** For UNSUBSCRIBE / PUNSUBSCRIBE / SUNSUBSCRIBE without arguments: Redis
 *  emits one frame per subscription in its dict's (seeded hash) order, so two
 *  redis-servers already differ. The frames are compared in order with the
 *  channel name blanked out (kind, header and the decreasing count must
 *  match), and the names are compared as a multiset. */
function unsubAllCmp(r, s) {
  const norm = (buf) => {
    const { frames, rest } = splitFrames(buf);
    const names = [];
    const seq = frames.map((f) => {
      if (Array.isArray(f.v) && f.v.length === 3 && /unsubscribe$/.test(String(f.v[0].v))) {
        names.push(f.v[1].raw.toString('latin1'));
        return f.raw.toString('latin1').replace(f.v[1].raw.toString('latin1'), '<name>');
      }
      return f.raw.toString('latin1');
    });
    return JSON.stringify([seq, names.sort(), rest.toString('latin1')]);
  };
  return norm(r) === norm(s) ? undefined : 'frames differ (unsubscribe frames: names compared as a multiset, order of counts exact)';
}

/** Redis 7.0 walks its pattern dict (seeded hash order) when publishing, so a
 *  client with several matching patterns gets its pmessage frames for one
 *  PUBLISH in an order that differs between two redis-servers. Frames are
 *  compared in order, except that each run of consecutive pmessage frames is
 *  compared as a multiset. */
function pmessageRunsCmp(r, s) {
  const norm = (buf) => {
    const { frames, rest } = splitFrames(buf);
    const out = [];
    let run = [];
    const flush = () => { if (run.length) out.push('{' + run.sort().join('|') + '}'); run = []; };
    for (const f of frames) {
      if (Array.isArray(f.v) && f.v.length === 4 && String(f.v[0].v) === 'pmessage') run.push(f.raw.toString('latin1'));
      else { flush(); out.push(f.raw.toString('latin1')); }
    }
    flush();
    return JSON.stringify([out, rest.toString('latin1')]);
  };
  return norm(r) === norm(s) ? undefined : 'frames differ (runs of pmessage frames compared as multisets)';
}

function shapeCmp(r, s) {
  const a = splitFrames(r), b = splitFrames(s);
  if (a.frames.length !== b.frames.length) return `frame count differs (${a.frames.length} vs ${b.frames.length})`;
  if (!!a.rest.length !== !!b.rest.length) return 'one side has trailing partial bytes';
  for (let i = 0; i < a.frames.length; i++) {
    if (a.frames[i].t !== b.frames[i].t) return `frame ${i}: type '${a.frames[i].t}' vs '${b.frames[i].t}'`;
  }
  return undefined;
}

/** Deep structural equality, except that the values stored under the given
 *  keys (in a RESP3 map, or a flat key/value array such as HELLO 2's) only need
 *  the same type. */
export function structureExceptKeys(keys) {
  const ignore = new Set(keys);
  const same = (x, y, path) => {
    if (x.t !== y.t) return `${path}: type '${x.t}' vs '${y.t}'`;
    if ((x.v === null) !== (y.v === null)) return `${path}: null vs non-null`;
    if (Array.isArray(x.v)) {
      if (x.v.length !== y.v.length) return `${path}: length ${x.v.length} vs ${y.v.length}`;
      const paired = x.t === '%' || (x.t === '*' && x.v.length % 2 === 0 && x.v.length > 0 && x.v.every((c, i) => i % 2 === 1 || c.t === '$' || c.t === '+'));
      for (let i = 0; i < x.v.length; i++) {
        const key = paired && i % 2 === 1 ? String(x.v[i - 1].v) : null;
        if (key !== null && ignore.has(key)) {
          if (x.v[i].t !== y.v[i].t) return `${path}.${key}: type '${x.v[i].t}' vs '${y.v[i].t}'`;
          continue;
        }
        const e = same(x.v[i], y.v[i], `${path}[${i}]`);
        if (e) return e;
      }
      return undefined;
    }
    return x.raw.equals(y.raw) ? undefined : `${path}: ${escapeBytes(x.raw, 80)} vs ${escapeBytes(y.raw, 80)}`;
  };
  return (r, s) => {
    const a = splitFrames(r), b = splitFrames(s);
    if (a.frames.length !== b.frames.length) return `frame count differs (${a.frames.length} vs ${b.frames.length})`;
    if (!a.rest.equals(b.rest)) return 'trailing bytes differ';
    for (let i = 0; i < a.frames.length; i++) {
      const e = same(a.frames[i], b.frames[i], `frame${i}`);
      if (e) return `${e} (structure compared; values of ${keys.join('/')} ignored)`;
    }
    return undefined;
  };
}

/** Either byte-identical to redis, or any of the given exact alternatives
 *  (each a string/Buffer, or a function (refBuf) → string/Buffer). */
export function oneOf(...alts) {
  return (r, s) => {
    if (r.equals(s)) return undefined;
    for (const alt of alts) {
      const b = toBuf(typeof alt === 'function' ? alt(r) : alt);
      if (b.equals(s)) return undefined;
    }
    return `bytes differ from redis and from the ${alts.length} accepted alternative(s): ${alts.map((a) => escapeBytes(typeof a === 'function' ? a(r) : a, 200)).join(' | ')}`;
  };
}

/** Same as redis, or Redis's unknown-command error for argv: for commands
 *  jugglite deliberately does not implement (DESIGN §4: "Anything else:
 *  Redis's exact unknown-command error"). */
export function sameOrUnknown(argv) {
  return oneOf(unknownCommandError(argv));
}

export const compare = {
  exact: exactCmp, multiset: multisetCmp, unsubAll: unsubAllCmp, pmessageRuns: pmessageRunsCmp, unorderedArray: unorderedArrayCmp, shape: shapeCmp,
  skip: () => undefined, structureExceptKeys, oneOf, sameOrUnknown,
  hello: structureExceptKeys(['server', 'version', 'id']),
};

function resolveCmp(c) {
  if (!c) return exactCmp;
  if (typeof c === 'function') return c;
  if (!compare[c]) throw new Error(`unknown compare mode ${c}`);
  return compare[c];
}

// ------------------------------------------------------------ reading

async function readSide(client, quiet) {
  return client.readQuiet({ quiet, max: 10000 });
}

function completeness(buf) {
  const { frames, rest, malformed } = splitFrames(buf);
  return { n: frames.length, partial: rest.length > 0 && !malformed, malformed: !!malformed, len: buf.length };
}

/** Is `mine` behind `theirs`: fewer complete frames, or a partial frame at the
 *  end (for bytes that are not RESP at all: fewer bytes)? */
function behind(mine, theirs) {
  if (mine.malformed || theirs.malformed) return mine.len < theirs.len;
  return mine.n < theirs.n || mine.partial;
}

/** Read both sides of one connection until each is quiet, then give the side
 *  that is behind (fewer complete RESP frames than the other, or half a frame)
 *  time to catch up. Waiting draws on budget.ms, shared by the whole script,
 *  so a server that stays silent cannot make a long script wait SLOW ms on
 *  every step. A slow side is normally jugglite (ASan builds) but can be
 *  redis too (a scheduling hiccup), so this is symmetric. */
async function readPair(refC, subC, quiet, budget) {
  let [r, s] = await Promise.all([readSide(refC, quiet), readSide(subC, quiet)]);
  const wait = () => Math.max(quiet, Math.min(SLOW, budget.ms));
  for (let round = 0; round < 4; round++) {
    const cr = completeness(r), cs = completeness(s);
    let lagC = null, have = null, target = null;
    if (behind(cs, cr) && !subC.closed) { lagC = subC; have = s; target = cr; }
    else if (behind(cr, cs) && !refC.closed) { lagC = refC; have = r; target = cs; }
    if (!lagC) break;
    const t0 = Date.now();
    const more = await lagC.readUntil((b) => {
      const c = completeness(Buffer.concat([have, b]));
      return (c.malformed ? c.len >= target.len : c.n >= target.n && !c.partial) ? true : undefined;
    }, wait(), 'catch up').catch(() => lagC._take(lagC.buf.length));
    const tail = await lagC.readQuiet({ quiet, max: 5000 });
    budget.ms -= Date.now() - t0;
    if (lagC === subC) s = Buffer.concat([s, more, tail]); else r = Buffer.concat([r, more, tail]);
    if (!more.length && !tail.length) break;
  }
  for (const [a, b] of [[refC, subC], [subC, refC]]) {
    if (a.closed && !b.closed) {
      const t0 = Date.now();
      await b.waitClose(wait()).catch(() => {});
      budget.ms -= Date.now() - t0;
    }
  }
  return [r, s];
}

// ------------------------------------------------------------ diff

/**
 * Run a differential script. Throws an AssertionError describing every
 * mismatching step unless opts.noThrow, in which case the list is returned.
 */
export async function diff(script, opts) {
  const ref = new Side('redis', opts.ref);
  const sub = new Side('jugglite', opts.sub);
  const mismatches = [];
  const transcript = [];
  const budget = { ms: opts.slowBudget ?? SLOW_BUDGET };
  try {
    for (let i = 0; i < script.length; i++) {
      const step = script[i];
      if (step.sleep) { await new Promise((r) => setTimeout(r, step.sleep)); continue; }
      const id = step.on ?? 'a';
      const [rc, sc] = await Promise.all([ref.conn(id), sub.conn(id)]);
      if (step.close) {
        rc.close(); sc.close();
        ref.conns.delete(id); sub.conns.delete(id);
        continue;
      }
      if (rc.closed !== sc.closed) {
        mismatches.push(`${describeStep(i, step)}: connection '${id}' is ${rc.closed ? 'closed' : 'open'} on redis but ${sc.closed ? 'closed' : 'open'} on jugglite; stopping`);
        break;
      }
      if (rc.closed) {
        mismatches.push(`${describeStep(i, step)}: script error: connection '${id}' already closed on both sides`);
        break;
      }
      const bytes = stepBytes(step);
      if (bytes) await Promise.all([rc.send(bytes), sc.send(bytes)]);
      else if (step.chunks) {
        for (const ch of step.chunks) {
          await Promise.all([rc.send(ch), sc.send(ch)]);
          await new Promise((r) => setTimeout(r, step.gap ?? 30));
        }
      }
      const quiet = step.quiet ?? QUIET;
      const ids = [...ref.conns.keys()];
      const results = await Promise.all(ids.map((cid) => readPair(ref.conns.get(cid), sub.conns.get(cid), quiet, budget)));
      const peers = { ref: ref.peers(), sub: sub.peers() };
      let stop = false;
      ids.forEach((cid, k) => {
        const [r, s] = results[k];
        const rcc = ref.conns.get(cid), scc = sub.conns.get(cid);
        const cmp = resolveCmp(cid === id ? (step.compare ?? opts.compare) : (step.compareOthers ?? opts.compare));
        const why = cmp(r, s, step, peers);
        transcript.push({ step: i, conn: cid, ref: r, sub: s });
        const problems = [];
        if (why) problems.push(why);
        if (rcc.closed !== scc.closed) {
          problems.push(`after this step the connection is ${rcc.closed ? 'closed' : 'open'} on redis but ${scc.closed ? 'closed' : 'open'} on jugglite`);
          stop = true;
        }
        if (problems.length) {
          mismatches.push(`${describeStep(i, step)} — on connection '${cid}': ${problems.join('; ')}\n` +
            `  redis    (${r.length} bytes${rcc.closed ? ', then closed' : ''}):\n${renderFrames(r)}\n` +
            `  jugglite (${s.length} bytes${scc.closed ? ', then closed' : ''}):\n${renderFrames(s)}` +
            firstDifference(r, s));
        }
      });
      if (stop) break;
    }
  } finally {
    ref.closeAll();
    sub.closeAll();
  }
  if (opts.noThrow) return { mismatches, transcript };
  if (mismatches.length) {
    throw new assert.AssertionError({
      message: `${opts.name ? opts.name + ': ' : ''}${mismatches.length} step(s) differ between redis-server and jugglite\n\n${mismatches.join('\n\n')}\n`,
      operator: 'diff',
    });
  }
  return { mismatches, transcript };
}

function firstDifference(r, s) {
  const n = Math.min(r.length, s.length);
  let i = 0;
  while (i < n && r[i] === s[i]) i++;
  if (i === n && r.length === s.length) return '';
  const from = Math.max(0, i - 20);
  return `\n  first difference at byte ${i}: redis …${escapeBytes(r.subarray(from, i + 40))}… vs jugglite …${escapeBytes(s.subarray(from, i + 40))}…`;
}

