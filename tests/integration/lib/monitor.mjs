// MONITOR lines in differential tests.
//
// A line is "+<sec>.<usec> [<db> <peer>] <quoted args>\r\n". Between
// redis-server and jugglite only two parts may differ: the time, and the
// peer's address (each side's client sockets have their own ports, each
// server its own unix socket path). The comparators here rewrite exactly
// those two parts -- the peer into the name of the script's connection it
// belongs to, so a line naming the wrong client still differs -- and
// compare everything else byte for byte. Times must look like Redis's (six
// digits of microseconds), be unix time (within a day of the test's clock:
// not a performance bound, a unit check) and never go backwards.
//
//   monitorCmp            every connection of a MONITOR script (diff opts.compare)
//   monitorAfterReplyCmp  a monitor's own EXEC: see below
//   monitorLines(buf)     the lines in buf, parsed

import { escapeBytes } from './resp.mjs';

const LINE = /\+(\d+)\.(\d{6}) \[(\d+) ([^\]\r\n]*)\] ([^\r\n]*)\r\n/g;
const DAY = 86400;

/** Every MONITOR line in buf: {sec, usec, db, peer, args, raw, index}. */
export function monitorLines(buf) {
  const text = Buffer.isBuffer(buf) ? buf.toString('latin1') : String(buf);
  return [...text.matchAll(LINE)].map((m) => ({
    sec: Number(m[1]), usec: Number(m[2]), db: Number(m[3]), peer: m[4], args: m[5], raw: m[0], index: m.index,
  }));
}

function peerName(peer, side) {
  if (peer.startsWith('unix:')) return peer === `unix:${side.path}` ? 'unix:<listener>' : `unix:<other ${peer.slice(5)}>`;
  const id = side.byAddr.get(peer);
  return id === undefined ? `<not a connection of this script: ${peer}>` : `<${id}>`;
}

function normalize(text, side, problems, who) {
  let last = -Infinity;
  const now = Date.now() / 1000;
  return text.replace(LINE, (raw, sec, usec, db, peer, args) => {
    const t = Number(sec) + Number(usec) / 1e6;
    if (Math.abs(t - now) > DAY) problems.push(`${who}: time ${sec}.${usec} is not the current unix time`);
    if (t < last) problems.push(`${who}: time went backwards (${sec}.${usec})`);
    last = t;
    return `+<time> [${db} ${peerName(peer, side)}] ${args}\r\n`;
  });
}

/** Exact, except each MONITOR line's time and peer (see above). */
export function monitorCmp(r, s, step, peers) {
  const problems = [];
  const a = normalize(r.toString('latin1'), peers.ref, problems, 'redis');
  const b = normalize(s.toString('latin1'), peers.sub, problems, 'jugglite');
  if (problems.length) return problems.join('; ');
  if (a === b) return undefined;
  return `bytes differ (MONITOR times and peers normalized): redis ${escapeBytes(a, 600)} vs jugglite ${escapeBytes(b, 600)}`;
}

/** A monitor that runs EXEC itself: Redis 7.0.15 writes the line about each
 *  queued command right after that command's reply, inside the EXEC array,
 *  which breaks the array's framing (the same bug as for pushes, fixed for
 *  pushes in Redis 7.2, redis#12326). jugglite keeps its rule "a command's
 *  reply first, then what it caused this client to receive" and sends the
 *  lines after the whole EXEC reply. Accepted: redis's bytes, or redis's
 *  bytes with every MONITOR line moved, in order, to the end; nothing else
 *  may differ. */
export function monitorAfterReplyCmp(r, s, step, peers) {
  if (monitorCmp(r, s, step, peers) === undefined) return undefined;
  const text = r.toString('latin1');
  const lines = monitorLines(text).map((l) => l.raw);
  const moved = Buffer.from(text.replace(LINE, '') + lines.join(''), 'latin1');
  return monitorCmp(moved, s, step, peers);
}
