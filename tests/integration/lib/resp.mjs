// RESP2/RESP3 helpers for the integration tests: encoding, a tolerant frame
// parser, and readable rendering of raw bytes.
//
// Everything works on Buffers and treats payloads as opaque bytes (latin1 is
// used whenever bytes must become a JS string, so no byte is ever lost).

const CRLF = '\r\n';

/** Encode one command as a RESP array of bulk strings. Args may be strings
 *  (UTF-8), numbers or Buffers. */
export function encode(...args) {
  if (args.length === 1 && Array.isArray(args[0])) args = args[0];
  const parts = [Buffer.from(`*${args.length}${CRLF}`)];
  for (const a of args) {
    const b = Buffer.isBuffer(a) ? a : Buffer.from(String(a), 'utf8');
    parts.push(Buffer.from(`$${b.length}${CRLF}`), b, Buffer.from(CRLF));
  }
  return Buffer.concat(parts);
}

/** Encode several commands back to back (a pipeline in one buffer). */
export function encodeMany(cmds) {
  return Buffer.concat(cmds.map((c) => encode(c)));
}

/** Bytes → Buffer (strings are taken as latin1 so "\xff" means byte 0xff). */
export function toBuf(x) {
  if (Buffer.isBuffer(x)) return x;
  if (x instanceof Uint8Array) return Buffer.from(x);
  return Buffer.from(String(x), 'latin1');
}

/** Render bytes readably: \r and \n escaped, other non-printables as \xNN. */
export function escapeBytes(buf, max = Infinity) {
  buf = toBuf(buf);
  let out = '';
  const n = Math.min(buf.length, max);
  for (let i = 0; i < n; i++) {
    const c = buf[i];
    if (c === 0x0d) out += '\\r';
    else if (c === 0x0a) out += '\\n';
    else if (c === 0x5c) out += '\\\\';
    else if (c === 0x09) out += '\\t';
    else if (c < 0x20 || c >= 0x7f) out += '\\x' + c.toString(16).padStart(2, '0');
    else out += String.fromCharCode(c);
  }
  if (buf.length > n) out += `…(+${buf.length - n} bytes)`;
  return out;
}

class Incomplete extends Error {}

function readLine(buf, pos) {
  const i = buf.indexOf('\r\n', pos, 'latin1');
  if (i < 0) throw new Incomplete();
  return { line: buf.toString('latin1', pos, i), next: i + 2 };
}

const SIMPLE = new Set(['+', '-', ':', '_', ',', '#', '(']);
const AGG = new Set(['*', '%', '~', '>', '|']);

/**
 * Parse one RESP2/RESP3 frame at `pos`.
 * Returns {node, end} or null when the buffer holds only part of a frame.
 * Throws Error('malformed ...') when the bytes are not RESP.
 * node = {t: type char, v: value, raw: Buffer}; aggregates have v = [child nodes]
 * (maps/attributes: flat key, value, key, value…), null bulk/array have v = null.
 */
export function parseFrame(buf, pos = 0) {
  try {
    const { node, end } = parseAt(buf, pos);
    return { node, end };
  } catch (e) {
    if (e instanceof Incomplete) return null;
    throw e;
  }
}

function parseAt(buf, pos) {
  if (pos >= buf.length) throw new Incomplete();
  const t = String.fromCharCode(buf[pos]);
  const { line, next } = readLine(buf, pos + 1);
  if (SIMPLE.has(t)) {
    let v = line;
    if (t === ':') v = BigInt(line) <= BigInt(Number.MAX_SAFE_INTEGER) && BigInt(line) >= BigInt(Number.MIN_SAFE_INTEGER) ? Number(line) : BigInt(line);
    if (t === '_') v = null;
    if (t === '#') v = line === 't';
    return { node: { t, v, raw: buf.subarray(pos, next) }, end: next };
  }
  if (t === '$' || t === '=' || t === '!') {
    const len = Number(line);
    if (!Number.isInteger(len)) throw new Error(`malformed RESP: bad length '${line}' at ${pos}`);
    if (len < 0) return { node: { t, v: null, raw: buf.subarray(pos, next) }, end: next };
    if (buf.length < next + len + 2) throw new Incomplete();
    if (buf[next + len] !== 0x0d || buf[next + len + 1] !== 0x0a) throw new Error(`malformed RESP: bulk not terminated by CRLF at ${next + len}`);
    const v = buf.subarray(next, next + len);
    return { node: { t, v, raw: buf.subarray(pos, next + len + 2) }, end: next + len + 2 };
  }
  if (AGG.has(t)) {
    const n = Number(line);
    if (!Number.isInteger(n)) throw new Error(`malformed RESP: bad aggregate length '${line}' at ${pos}`);
    if (n < 0) return { node: { t, v: null, raw: buf.subarray(pos, next) }, end: next };
    const count = t === '%' || t === '|' ? 2 * n : n;
    const v = [];
    let p = next;
    for (let i = 0; i < count; i++) {
      const r = parseAt(buf, p);
      v.push(r.node);
      p = r.end;
    }
    const node = { t, v, raw: buf.subarray(pos, p) };
    // An attribute is followed by the value it annotates; keep them together.
    if (t === '|') {
      const r = parseAt(buf, p);
      node.attributed = r.node;
      node.raw = buf.subarray(pos, r.end);
      return { node, end: r.end };
    }
    return { node, end: p };
  }
  throw new Error(`malformed RESP: unknown type byte ${JSON.stringify(t)} at ${pos}`);
}

/** Split bytes into complete top-level frames. Returns {frames: [node], rest: Buffer}.
 *  If the bytes are malformed, everything from the bad point on is `rest`
 *  and `malformed` holds the error message. */
export function splitFrames(buf) {
  buf = toBuf(buf);
  const frames = [];
  let pos = 0;
  while (pos < buf.length) {
    let r;
    try {
      r = parseFrame(buf, pos);
    } catch (e) {
      return { frames, rest: buf.subarray(pos), malformed: e.message };
    }
    if (!r) break;
    frames.push(r.node);
    pos = r.end;
  }
  return { frames, rest: buf.subarray(pos) };
}

/** Count complete top-level frames (for "read until N replies"). */
export function countFrames(buf) {
  return splitFrames(buf).frames.length;
}

/** Node → plain JS value (bulk → latin1 string; maps → array of [k, v]). */
export function toJs(node) {
  if (node.v === null) return null;
  switch (node.t) {
    case '$': case '=': case '!': return node.v.toString('latin1');
    case '*': case '~': case '>': return node.v.map(toJs);
    case '%': case '|': {
      const out = [];
      for (let i = 0; i < node.v.length; i += 2) out.push([toJs(node.v[i]), toJs(node.v[i + 1])]);
      return out;
    }
    default: return node.v;
  }
}

/** Parse all bytes into JS values (throws if anything is left over). */
export function decodeAll(buf) {
  const { frames, rest, malformed } = splitFrames(buf);
  if (malformed || rest.length) throw new Error(`not a complete RESP sequence: ${malformed || 'trailing ' + escapeBytes(rest, 200)}`);
  return frames.map(toJs);
}

/** A short human description of a frame's structure, e.g. "%7{server:$,…}". */
export function describeShape(node) {
  if (node.v === null) return `${node.t}null`;
  if (node.t === '%' || node.t === '|') {
    const parts = [];
    for (let i = 0; i < node.v.length; i += 2) parts.push(`${escapeBytes(node.v[i].raw, 40)}=>${describeShape(node.v[i + 1])}`);
    return `${node.t}${node.v.length / 2}{${parts.join(', ')}}`;
  }
  if (AGG.has(node.t)) return `${node.t}${node.v.length}[${node.v.map(describeShape).join(', ')}]`;
  return node.t;
}

/** Render a byte string one RESP frame per line (falls back to raw escape). */
export function renderFrames(buf, maxFrames = 60) {
  buf = toBuf(buf);
  if (buf.length === 0) return '    (nothing)';
  const { frames, rest, malformed } = splitFrames(buf);
  const lines = frames.slice(0, maxFrames).map((f, i) => `    [${i}] ${escapeBytes(f.raw, 400)}`);
  if (frames.length > maxFrames) lines.push(`    … ${frames.length - maxFrames} more frames`);
  if (rest.length) lines.push(`    ${malformed ? '[not RESP] ' : '[partial] '}${escapeBytes(rest, 400)}`);
  return lines.join('\n');
}

/** Redis's exact unknown-command error for argv (server.c processCommand,
 *  7.0: name %.128s, args quoted while the list is shorter than 128 bytes,
 *  each truncated to what is left of the 128; CR/LF become spaces). */
export function unknownCommandError(argv) {
  const name = String(argv[0]);
  let args = '';
  for (let i = 1; i < argv.length && args.length < 128; i++) {
    const room = 128 - args.length;
    args += `'${String(argv[i]).slice(0, room)}' `;
  }
  const msg = `-ERR unknown command '${name.slice(0, 128)}', with args beginning with: ${args}`;
  return msg.replace(/[\r\n]/g, ' ') + '\r\n';
}
