// A byte-level RESP/TCP client for tests (see RawClient below).

import net from 'node:net';
import { parseFrame, toBuf, escapeBytes } from './resp.mjs';
import { trackSocket, untrackSocket, withTimeout, sleep } from './registry.mjs';

// ---------------------------------------------------------------- raw client

/**
 * A byte-level client over net.Socket (TCP on loopback, or a unix socket).
 * Received bytes accumulate in an internal buffer; read* methods consume them.
 * Every read has a deadline; nothing here can hang a test.
 */
export class RawClient {
  constructor(sock, label = 'raw') {
    this.sock = sock;
    this.label = label;
    this.buf = Buffer.alloc(0);
    this.closed = false;
    this.error = null;
    this._waiters = new Set();
    sock.on('data', (d) => { this.buf = this.buf.length ? Buffer.concat([this.buf, d]) : d; this.lastData = Date.now(); this._wake(); });
    sock.on('error', (e) => { this.error = e; });
    sock.on('close', () => { this.closed = true; untrackSocket(this); this._wake(); });
    sock.on('end', () => { this.ended = true; this._wake(); });
    trackSocket(this);
  }

  /** connect({port, host}) or connect({path}); rejects after `timeout` ms. */
  static connect(portOrOpts, opts = {}) {
    const o = typeof portOrOpts === 'object' ? { ...portOrOpts } : { port: portOrOpts, ...opts };
    const target = o.path ? { path: o.path } : { port: o.port, host: o.host || '127.0.0.1' };
    return withTimeout(new Promise((resolve, reject) => {
      const s = net.connect(target);
      s.setNoDelay(true);
      const onErr = (e) => reject(new Error(`connect ${JSON.stringify(target)}: ${e.message}`));
      s.once('error', onErr);
      s.once('connect', () => { s.off('error', onErr); resolve(new RawClient(s, o.label || `${target.host || ''}:${target.port || target.path}`)); });
    }), o.timeout ?? 5000, `connect ${JSON.stringify(target)}`);
  }

  _wake() { for (const w of [...this._waiters]) w(); }

  /** Resolve when check() returns a non-undefined value (re-checked on every
   *  data/close event); reject on timeout. */
  _waitFor(check, timeout, what) {
    return new Promise((resolve, reject) => {
      let timer;
      const w = () => {
        let r;
        try { r = check(); } catch (e) { cleanup(); reject(e); return; }
        if (r !== undefined) { cleanup(); resolve(r); }
      };
      const cleanup = () => { clearTimeout(timer); this._waiters.delete(w); };
      timer = setTimeout(() => { cleanup(); reject(new Error(`${this.label}: timeout after ${timeout} ms waiting for ${what}; buffered ${this.buf.length} bytes: ${escapeBytes(this.buf, 500)}${this.closed ? ' (connection closed)' : ''}`)); }, timeout);
      this._waiters.add(w);
      w();
    });
  }

  _take(n) {
    const out = this.buf.subarray(0, n);
    this.buf = this.buf.subarray(n);
    return Buffer.from(out);
  }

  /** Write bytes (string = latin1, Buffer, or array of args → RESP command). */
  send(data) {
    const b = Array.isArray(data) ? encodeArgs(data) : toBuf(data);
    return new Promise((resolve, reject) => {
      if (this.closed || this.sock.destroyed) { reject(new Error(`${this.label}: send on closed connection`)); return; }
      this.sock.write(b, (e) => (e ? reject(e) : resolve()));
    });
  }

  /** The next exactly n bytes. */
  readExactly(n, timeout = 5000) {
    return this._waitFor(() => {
      if (this.buf.length >= n) return this._take(n);
      if (this.closed) throw new Error(`${this.label}: connection closed with ${this.buf.length}/${n} bytes: ${escapeBytes(this.buf, 500)}`);
      return undefined;
    }, timeout, `${n} bytes`);
  }

  /** Read until pred(buffer) is truthy; consumes the whole buffer, or, if pred
   *  returns a number, that many bytes. */
  readUntil(pred, timeout = 5000, what = 'predicate') {
    return this._waitFor(() => {
      const r = pred(this.buf);
      if (typeof r === 'number' && r >= 0) return this._take(r);
      if (r === true) return this._take(this.buf.length);
      if (this.closed) throw new Error(`${this.label}: connection closed before ${what}; got ${escapeBytes(this.buf, 500)}`);
      return undefined;
    }, timeout, what);
  }

  /** Read up to and including the first occurrence of `s`. */
  readUntilString(s, timeout = 5000) {
    const needle = toBuf(s);
    return this.readUntil((b) => { const i = b.indexOf(needle); return i < 0 ? undefined : i + needle.length; }, timeout, JSON.stringify(String(s)));
  }

  /** All bytes received within the next `ms` milliseconds (plus anything buffered). */
  async readFor(ms) {
    await sleep(ms);
    return this._take(this.buf.length);
  }

  /** Read until nothing new has arrived for `quiet` ms (or the peer closed),
   *  bounded by `max` ms; optionally at least `minBytes`. */
  readQuiet({ quiet = 150, max = 5000, minBytes = 0 } = {}) {
    const start = Date.now();
    return new Promise((resolve) => {
      let last = Date.now();
      let seen = this.buf.length;
      const tick = () => {
        const now = Date.now();
        if (this.buf.length !== seen) { seen = this.buf.length; last = now; }
        const quietEnough = now - last >= quiet && this.buf.length >= minBytes;
        if (quietEnough || (this.closed && this.buf.length >= minBytes) || now - start >= max) {
          clearInterval(iv);
          // Let a pending 'close' be noticed with the last bytes.
          setImmediate(() => resolve(this._take(this.buf.length)));
        }
      };
      const iv = setInterval(tick, 5);
    });
  }

  /** One complete RESP frame → {raw, node}. */
  readFrame(timeout = 5000) {
    return this._waitFor(() => {
      const r = parseFrame(this.buf, 0);
      if (r) return { raw: this._take(r.end), node: r.node };
      if (this.closed) throw new Error(`${this.label}: connection closed before a complete RESP frame; got ${escapeBytes(this.buf, 500)}`);
      return undefined;
    }, timeout, 'a RESP frame');
  }

  /** Raw bytes of the next n complete RESP frames. */
  async readFrames(n, timeout = 5000) {
    const out = [];
    const deadline = Date.now() + timeout;
    for (let i = 0; i < n; i++) out.push((await this.readFrame(Math.max(1, deadline - Date.now()))).raw);
    return Buffer.concat(out);
  }

  /** Send a command and return the raw bytes of its single reply frame. */
  async call(args, timeout = 5000) {
    await this.send(args);
    return (await this.readFrame(timeout)).raw;
  }

  /** Resolves true when the peer has closed (consumes nothing). */
  waitClose(timeout = 5000) {
    return this._waitFor(() => (this.closed ? true : undefined), timeout, 'connection close');
  }

  /** Half-close our side (FIN). */
  end() { this.sock.end(); }
  close() { this.sock.destroy(); untrackSocket(this); }
  destroy() { this.close(); }
}

function encodeArgs(args) {
  const parts = [Buffer.from(`*${args.length}\r\n`)];
  for (const a of args) {
    const b = Buffer.isBuffer(a) ? a : Buffer.from(String(a), 'utf8');
    parts.push(Buffer.from(`$${b.length}\r\n`), b, Buffer.from('\r\n'));
  }
  return Buffer.concat(parts);
}

