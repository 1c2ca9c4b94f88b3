// Raw HTTP / Server-Sent Events client for tests.
//
//   const c = await SseClient.open(port, '/stream?channel=a,b')   // resolves once headers arrived
//   c.status, c.headers['content-type'], c.rawHead
//   await c.waitEvents(2)        // first 2 events seen so far (cumulative, from the start)
//   await c.takeEvents(1)        // the next not-yet-taken event(s)
//   c.events, c.comments, c.body (decoded body bytes), c.rawBody (bytes as sent: may be chunked)
//   await c.waitClose(); c.close()
//
//   parseSseStream(text) → {events, comments, lastEventId, retry}  (WHATWG HTML §9.2.6)
//   httpRequest(port, {method, path, headers, body, raw}) → {status, headers, body, rawHead}
//
// Nothing uses Node's http module: the point is to see the exact bytes.

import net from 'node:net';
import { trackSocket, untrackSocket, withTimeout } from './registry.mjs';
import { escapeBytes } from './resp.mjs';

/** Incremental WHATWG event-stream parser (text must already be UTF-8 decoded). */
export class SseParser {
  constructor() {
    this.events = [];
    this.comments = [];
    this.fields = [];   // every [name, value] seen, for tests that look at unknown fields
    this.lastEventId = '';
    this.retry = null;
    this._pending = '';
    this._data = '';
    this._type = '';
    this._idBuf = '';
    this._started = false;
  }

  feed(text, final = false) {
    let s = this._pending + text;
    if (!this._started && s.length) {
      if (s.charCodeAt(0) === 0xfeff) s = s.slice(1);
      this._started = true;
    }
    let pos = 0;
    for (;;) {
      let i = pos;
      while (i < s.length && s[i] !== '\r' && s[i] !== '\n') i++;
      if (i >= s.length) break;
      if (s[i] === '\r' && i + 1 >= s.length && !final) break; // maybe CRLF split across chunks
      const line = s.slice(pos, i);
      pos = i + (s[i] === '\r' && s[i + 1] === '\n' ? 2 : 1);
      this._line(line);
    }
    this._pending = s.slice(pos);
    if (final) this._pending = ''; // an incomplete last event is discarded (spec)
  }

  _line(line) {
    if (line === '') return this._dispatch();
    if (line[0] === ':') { this.comments.push(line.slice(1)); return; }
    const c = line.indexOf(':');
    let name = line, value = '';
    if (c >= 0) {
      name = line.slice(0, c);
      value = line.slice(c + 1);
      if (value[0] === ' ') value = value.slice(1);
    }
    this.fields.push([name, value]);
    switch (name) {
      case 'event': this._type = value; break;
      case 'data': this._data += value + '\n'; break;
      case 'id': if (!value.includes('\0')) this._idBuf = value; break;
      case 'retry': if (/^[0-9]+$/.test(value)) this.retry = Number(value); break;
      default: break;
    }
  }

  _dispatch() {
    this.lastEventId = this._idBuf;
    if (this._data === '') { this._type = ''; return; }
    const data = this._data.endsWith('\n') ? this._data.slice(0, -1) : this._data;
    this.events.push({ type: this._type || 'message', data, lastEventId: this.lastEventId });
    this._data = '';
    this._type = '';
  }
}

export function parseSseStream(text) {
  const p = new SseParser();
  p.feed(text, true);
  return { events: p.events, comments: p.comments, lastEventId: p.lastEventId, retry: p.retry, fields: p.fields };
}

function parseHead(head) {
  const lines = head.split('\r\n');
  const m = /^HTTP\/(\d\.\d) (\d{3})(?: (.*))?$/.exec(lines[0]);
  if (!m) throw new Error(`bad HTTP status line: ${JSON.stringify(lines[0])}`);
  const headerList = [];
  const headers = {};
  for (const l of lines.slice(1)) {
    if (!l) continue;
    const c = l.indexOf(':');
    const name = l.slice(0, c).trim().toLowerCase();
    const value = l.slice(c + 1).trim();
    headerList.push([name, value]);
    headers[name] = name in headers ? `${headers[name]}, ${value}` : value;
  }
  return { httpVersion: m[1], status: Number(m[2]), statusText: m[3] ?? '', headers, headerList };
}

/** Incremental Transfer-Encoding: chunked decoder. */
class Dechunker {
  constructor() { this.buf = Buffer.alloc(0); this.state = 'size'; this.left = 0; this.done = false; this.error = null; this.chunkSizes = []; }
  /** feed raw bytes, returns the decoded bytes they complete */
  feed(b) {
    this.buf = this.buf.length ? Buffer.concat([this.buf, b]) : b;
    const out = [];
    while (!this.done && !this.error) {
      if (this.state === 'size' || this.state === 'trailer') {
        const i = this.buf.indexOf('\r\n');
        if (i < 0) break;
        const line = this.buf.toString('latin1', 0, i);
        this.buf = this.buf.subarray(i + 2);
        if (this.state === 'trailer') { if (line === '') this.done = true; continue; }
        const size = line.split(';')[0].trim();
        if (!/^[0-9a-fA-F]+$/.test(size)) { this.error = `bad chunk size line ${JSON.stringify(line)}`; break; }
        this.left = parseInt(size, 16);
        this.chunkSizes.push(this.left);
        this.state = this.left === 0 ? 'trailer' : 'data';
      } else if (this.state === 'data') {
        const n = Math.min(this.buf.length, this.left);
        if (n === 0) break;
        out.push(this.buf.subarray(0, n));
        this.buf = this.buf.subarray(n);
        this.left -= n;
        if (this.left === 0) this.state = 'crlf';
      } else { // crlf after chunk data
        if (this.buf.length < 2) break;
        if (this.buf[0] !== 0x0d || this.buf[1] !== 0x0a) { this.error = 'chunk data not followed by CRLF'; break; }
        this.buf = this.buf.subarray(2);
        this.state = 'size';
      }
    }
    return Buffer.concat(out);
  }
}

export class SseClient {
  constructor(sock, label) {
    this.sock = sock;
    this.label = label;
    this.rawHead = null;
    this.rawBody = Buffer.alloc(0);
    this.body = Buffer.alloc(0);
    this.parser = new SseParser();
    this.decoder = new TextDecoder('utf-8');
    this.closed = false;
    this.cursor = 0;
    this._head = Buffer.alloc(0);
    this._waiters = new Set();
    this.firstByteAt = null;
    sock.on('data', (d) => this._onData(d));
    sock.on('error', (e) => { this.error = e; });
    sock.on('close', () => {
      this.closed = true;
      untrackSocket(this);
      this.parser.feed(this.decoder.decode(), true);
      this._wake();
    });
    trackSocket(this);
  }

  get events() { return this.parser.events; }
  get comments() { return this.parser.comments; }

  /**
   * Open a connection and send a request (GET by default, with
   * Accept: text/event-stream). Resolves once the response head arrived.
   * opts: host, headers {name: value}, method, timeout, request (raw bytes
   * to send instead of building one), httpVersion ('1.1').
   */
  static async open(port, path = '/stream', opts = {}) {
    const host = opts.host || '127.0.0.1';
    const timeout = opts.timeout ?? 5000;
    const sock = await withTimeout(new Promise((resolve, reject) => {
      const s = net.connect({ port, host });
      s.setNoDelay(true);
      s.once('error', reject);
      s.once('connect', () => { s.off('error', reject); resolve(s); });
    }), timeout, `connect ${host}:${port}`);
    const c = new SseClient(sock, `sse ${host}:${port}${path}`);
    let req = opts.request;
    if (req === undefined) {
      const headers = { Host: `${host}:${port}`, Accept: 'text/event-stream', ...(opts.headers || {}) };
      req = `${opts.method || 'GET'} ${path} HTTP/${opts.httpVersion || '1.1'}\r\n` +
        Object.entries(headers).filter(([, v]) => v !== null && v !== undefined).map(([k, v]) => `${k}: ${v}\r\n`).join('') + '\r\n';
    }
    sock.write(typeof req === 'string' ? Buffer.from(req, 'latin1') : req);
    if (opts.waitHead === false) return c;
    await c.waitHeaders(timeout);
    return c;
  }

  _wake() { for (const w of [...this._waiters]) w(); }

  _onData(d) {
    if (this.firstByteAt === null) this.firstByteAt = Date.now();
    if (this.rawHead === null) {
      this._head = Buffer.concat([this._head, d]);
      const i = this._head.indexOf('\r\n\r\n');
      if (i < 0) { this._wake(); return; }
      this.rawHead = this._head.toString('latin1', 0, i + 4);
      Object.assign(this, parseHead(this._head.toString('latin1', 0, i)));
      if (/chunked/i.test(this.headers['transfer-encoding'] || '')) this.dechunker = new Dechunker();
      d = this._head.subarray(i + 4);
      this._head = null;
    }
    if (d.length) {
      this.rawBody = Buffer.concat([this.rawBody, d]);
      const dec = this.dechunker ? this.dechunker.feed(d) : d;
      if (dec.length) {
        this.body = Buffer.concat([this.body, dec]);
        this.parser.feed(this.decoder.decode(dec, { stream: true }));
      }
    }
    this._wake();
  }

  _waitFor(check, timeout, what) {
    return new Promise((resolve, reject) => {
      let timer;
      const w = () => {
        let r;
        try { r = check(); } catch (e) { cleanup(); reject(e); return; }
        if (r !== undefined) { cleanup(); resolve(r); }
      };
      const cleanup = () => { clearTimeout(timer); this._waiters.delete(w); };
      timer = setTimeout(() => {
        cleanup();
        reject(new Error(`${this.label}: timeout after ${timeout} ms waiting for ${what}; head=${JSON.stringify(this.rawHead)} body so far: ${escapeBytes(this.body, 1000)}${this.closed ? ' (closed)' : ''}`));
      }, timeout);
      this._waiters.add(w);
      w();
    });
  }

  waitHeaders(timeout = 5000) {
    return this._waitFor(() => {
      if (this.rawHead !== null) return this;
      if (this.closed) throw new Error(`${this.label}: closed before a response head; got ${escapeBytes(this._head || Buffer.alloc(0), 500)}`);
      return undefined;
    }, timeout, 'response head');
  }

  /** Resolves with the first n events once at least n have arrived in total. */
  waitEvents(n, timeout = 5000) {
    return this._waitFor(() => {
      if (this.events.length >= n) return this.events.slice(0, n);
      if (this.closed) throw new Error(`${this.label}: closed after ${this.events.length}/${n} events; body: ${escapeBytes(this.body, 1000)}`);
      return undefined;
    }, timeout, `${n} events (have ${this.events.length})`);
  }

  /** The next n events not taken before (a queue over `events`). */
  async takeEvents(n = 1, timeout = 5000) {
    await this.waitEvents(this.cursor + n, timeout);
    const out = this.events.slice(this.cursor, this.cursor + n);
    this.cursor += n;
    return out;
  }

  waitComments(n, timeout = 5000) {
    return this._waitFor(() => (this.comments.length >= n ? this.comments.slice(0, n) : (this.closed ? (() => { throw new Error(`${this.label}: closed after ${this.comments.length}/${n} comments`); })() : undefined)), timeout, `${n} comments`);
  }

  /** Wait until pred(bodyString) holds (body decoded from chunking, as latin1). */
  waitBody(pred, timeout = 5000) {
    return this._waitFor(() => {
      const t = this.body.toString('latin1');
      if (typeof pred === 'string' ? t.includes(pred) : pred instanceof RegExp ? pred.test(t) : pred(t)) return t;
      if (this.closed) throw new Error(`${this.label}: closed before body matched; body: ${escapeBytes(this.body, 1000)}`);
      return undefined;
    }, timeout, `body ${pred}`);
  }

  /** All events that arrive within ms (useful to assert that nothing came). */
  async eventsWithin(ms) {
    const before = this.events.length;
    await new Promise((r) => setTimeout(r, ms));
    return this.events.slice(before);
  }

  waitClose(timeout = 5000) {
    return this._waitFor(() => (this.closed ? true : undefined), timeout, 'connection close');
  }

  /** True once the response body is complete: the last chunk of a chunked
   *  body, Content-Length bytes, or the connection closed. */
  get ended() {
    if (this.rawHead === null) return this.closed;
    const len = this.headers['content-length'];
    return this.closed || !!this.dechunker?.done || (len !== undefined && this.body.length >= Number(len));
  }

  /** Wait for the end of the response body (see `ended`). */
  waitEnd(timeout = 5000) {
    return this._waitFor(() => (this.ended ? true : undefined), timeout, 'end of response body');
  }

  close() { this.sock.destroy(); untrackSocket(this); }
  destroy() { this.close(); }
}

/**
 * One plain HTTP request; reads the response until Content-Length is complete,
 * the chunked body ends, or the peer closes (bounded by timeout).
 * opts: method, path, headers, body, request (raw bytes), host, timeout.
 * Returns {status, statusText, headers, headerList, rawHead, body: Buffer, closed}.
 */
export async function httpRequest(port, opts = {}) {
  const timeout = opts.timeout ?? 5000;
  const headers = { Connection: 'close', ...(opts.headers || {}) };
  if (opts.body !== undefined && !('Content-Length' in headers)) headers['Content-Length'] = Buffer.byteLength(opts.body);
  const c = await SseClient.open(port, opts.path || '/', { ...opts, headers: { Accept: null, ...headers }, timeout });
  await c.waitEnd(timeout);
  const closed = c.closed;
  c.close();
  return { status: c.status, statusText: c.statusText, headers: c.headers, headerList: c.headerList, rawHead: c.rawHead, body: c.body, closed };
}
