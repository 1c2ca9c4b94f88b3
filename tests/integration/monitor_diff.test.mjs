// MONITOR, differentially: the same commands to Debian's redis-server
// (7.0.15) and to jugglite, every byte compared on every connection -- the
// monitors' lines included, equal but for their time and the peer's port
// (lib/monitor.mjs: the peer must still be the same connection of the
// script). What is covered:
//   - the line: "+sec.usec [db peer] args", Redis's quoting of every byte
//     value, the db after SELECT, inline commands, a unix socket's peer;
//   - which commands are shown: those that ran (errors from inside the
//     command included), not rejected ones (unknown, arity, NOAUTH, RESP2
//     subscribed context, a monitor's keyspace commands), not admin ones
//     (CONFIG GET, CLIENT LIST/KILL, MONITOR), MULTI-queued ones only when
//     EXEC runs them, before the EXEC line;
//   - redaction: AUTH (both forms, with and without --requirepass), HELLO
//     AUTH, and the cases where Redis leaves arguments in the clear because
//     it refused the command before reaching them;
//   - the monitor itself: +OK, a second MONITOR unanswered, its own command's
//     reply before the line about it, "Replica can't interact with the
//     keyspace", CLIENT REPLY OFF/SKIP silencing lines, SUBSCRIBE in RESP2
//     and RESP3, MONITOR inside MULTI and in RESP2 subscribed mode, RESET and
//     QUIT leaving monitor mode.
// One deliberate difference, compared with monitorAfterReplyCmp: a monitor's
// own EXEC (Redis splices the lines into the EXEC array).

import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startRedis, startJugglite, diff, TARGET } from './lib/harness.mjs';
import { monitorCmp, monitorAfterReplyCmp } from './lib/monitor.mjs';

const TT = { timeout: 120000 };
const PASS = 'sesame';
let dir, ref, sub, refAuth, subAuth;

before(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'jl-monitor-'));
  const unixArgs = (sock) => ['--unixsocket', path.join(dir, sock), '--unixsocketperm', '700'];
  // JL_TARGET=redis (validating this file): two redis-servers, configured alike.
  const subject = (args, redisArgs) => (TARGET === 'redis'
    ? startRedis({ args: redisArgs })
    : startJugglite({ args: [...args, '--port', '-1'], ssePort: null }));
  [ref, sub, refAuth, subAuth] = await Promise.all([
    startRedis({ args: unixArgs('redis.sock') }),
    subject(['--resp-socket', path.join(dir, 'jugglite.sock')], unixArgs('jugglite.sock')),
    startRedis({ args: ['--requirepass', PASS] }),
    subject(['--requirepass', PASS], ['--requirepass', PASS]),
  ]);
});
after(async () => {
  await Promise.all([ref?.stop(), sub?.stop(), refAuth?.stop(), subAuth?.stop()]);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

let seq = 0;
const uniq = () => `m${++seq}-${process.pid % 1000}-`;
const S = (on, ...args) => ({ on, send: args });
const SO = (on, args, opts) => ({ on, send: args, ...opts });
const RAW = (on, bytes) => ({ on, send: bytes });

function run(name, script, { auth = false, unix = false } = {}) {
  const [r, s] = auth ? [refAuth, subAuth] : [ref, sub];
  const target = (srv, sock) => (unix ? { path: path.join(dir, sock) } : srv.respPort);
  return diff(script, { ref: target(r, 'redis.sock'), sub: target(s, 'jugglite.sock'), name, compare: monitorCmp });
}

const allBytes = Buffer.from(Array.from({ length: 256 }, (_, i) => i));

describe('MONITOR against redis-server', () => {
  test('the line: quoting of every byte, the db, inline commands', TT, async () => {
    const u = uniq();
    await run('line', [
      S('m', 'MONITOR'),
      S('a', 'PUBLISH', `${u}news`, 'hi'),
      S('a', 'publish', `${u}news`, 'lower case stays lower case'),
      S('a', 'ECHO', allBytes),
      S('a', 'ECHO', Buffer.from('"quotes" \\backslash\\ \r\n\t\x07\b \u00e9 end', 'utf8')),
      S('a', 'PUBLISH', `${u}c`, ''),
      S('a', 'SELECT', '3'),
      S('a', 'PUBLISH', `${u}c`, 'in db 3'),
      S('a', 'SELECT', '0'),
      RAW('a', 'PING\r\n'),
      RAW('a', 'ECHO "inline \\x41rgs"\r\n'),
      RAW('a', '\r\n'),
      RAW('a', '*0\r\n'),
      S('a', 'PING', 'two'),
      SO('a', ['TIME'], { compare: 'shape' }),
      S('b', 'SPUBLISH', `${u}s`, 'x'),
      S('a', 'PING'),
    ]);
  });

  test('which commands are shown: run ones yes; rejected, admin and queued ones no', TT, async () => {
    const u = uniq();
    await run('which', [
      S('m', 'MONITOR'),
      S('a', 'NOSUCH', 'x'),
      S('a', 'PUBLISH', 'x'),
      S('a', 'CLIENT', 'NOSUCH'),
      S('a', 'PING', 'a', 'b'),
      S('a', 'SELECT', 'x'),
      SO('a', ['CONFIG', 'GET', 'port'], { compare: 'shape' }),
      SO('a', ['CLIENT', 'LIST'], { compare: 'shape' }),
      S('a', 'CLIENT', 'KILL', 'ID', '99999999'),
      SO('a', ['CLIENT', 'ID'], { compare: 'shape' }),
      S('a', 'CLIENT', 'SETNAME', 'watched'),
      S('a', 'CLIENT', 'GETNAME'),
      SO('a', ['INFO', 'server'], { compare: 'shape' }),
      SO('a', ['COMMAND', 'COUNT'], { compare: 'shape' }),
      S('a', 'DBSIZE'),
      S('a', 'PUBSUB', 'NUMSUB', `${u}c`),
      S('a', 'MULTI'),
      S('a', 'PUBLISH', `${u}c`, 'queued'),
      S('a', 'MONITOR'),
      S('a', 'EXEC'),
      S('a', 'MULTI'),
      S('a', 'NOSUCH'),
      S('a', 'EXEC'),
      S('a', 'EXEC'),
      S('a', 'DISCARD'),
      S('a', 'MULTI'),
      S('a', 'DISCARD'),
      S('b', 'SUBSCRIBE', `${u}c`),
      S('b', 'ECHO', 'refused in subscribed mode'),
      S('b', 'MONITOR'),
      S('b', 'PING'),
      S('a', 'PUBLISH', `${u}c`, 'to b'),
      S('b', 'RESET'),
      S('a', 'QUIT'),
    ]);
  });

  test('AUTH and HELLO AUTH are redacted as Redis redacts them (no password set)', TT, async () => {
    await run('redaction', [
      S('m', 'MONITOR'),
      S('a', 'AUTH', 'secret-1'),
      S('a', 'AUTH', 'someone', 'secret-2'),
      S('a', 'AUTH', 'default', 'secret-3'),
      S('a', 'AUTH', 'x', 'y', 'clear-because-syntax'),
      SO('a', ['HELLO', '3', 'AUTH', 'default', 'secret-4'], { compare: 'hello' }),
      SO('a', ['HELLO', '2', 'AUTH', 'default', 'secret-5', 'SETNAME', 'n1'], { compare: 'hello' }),
      S('a', 'HELLO', '9', 'AUTH', 'default', 'clear-bad-version'),
      S('a', 'HELLO', 'x', 'AUTH', 'default', 'clear-not-a-number'),
      S('a', 'HELLO', '2', 'BOGUS', 'AUTH', 'default', 'clear-after-syntax-error'),
      S('a', 'HELLO', '2', 'SETNAME', 'a b', 'AUTH', 'default', 'clear-after-bad-name'),
      S('a', 'HELLO', '2', 'SETNAME', 'n2', 'AUTH', 'nobody', 'secret-6', 'AUTH', 'default', 'clear'),
      S('a', 'CLIENT', 'GETNAME'),
      S('a', 'HELLO', '2', 'AUTH', 'lonely'),
      S('a', 'MULTI'),
      S('a', 'AUTH', 'queued-secret'),
      S('a', 'EXEC'),
    ]);
  });

  test('AUTH and HELLO AUTH with --requirepass; NOAUTH commands are not shown', TT, async () => {
    await run('redaction-requirepass', [
      S('m', 'AUTH', PASS),
      S('m', 'MONITOR'),
      S('a', 'PING'),
      S('a', 'MONITOR'),
      S('a', 'AUTH', 'wrong'),
      S('a', 'AUTH', 'default', 'wrong'),
      S('a', 'HELLO', '3'),
      S('a', 'HELLO', '3', 'AUTH', 'default', 'wrong'),
      S('a', 'HELLO', '3', 'AUTH', 'default', PASS, 'SETNAME', 'bad name'),
      S('a', 'CLIENT', 'GETNAME'),
      S('b', 'HELLO', '2', 'AUTH', 'default', PASS, 'BOGUS'),
      S('b', 'PING'),
      S('a', 'AUTH', PASS),
      S('a', 'RESET'),
      S('a', 'PING'),
    ], { auth: true });
  });

  test('the monitor itself: its own commands, keyspace refusals, CLIENT REPLY', TT, async () => {
    const u = uniq();
    await run('self', [
      S('m', 'MONITOR'),
      S('m', 'MONITOR'),
      S('m', 'PING'),
      S('m', 'ECHO', 'own'),
      S('m', 'PUBLISH', `${u}c`, 'x'),
      S('m', 'SPUBLISH', `${u}c`, 'x'),
      S('m', 'DBSIZE'),
      S('m', 'CLIENT', 'REPLY', 'OFF'),
      S('a', 'PUBLISH', `${u}c`, 'not shown while replies are off'),
      S('m', 'CLIENT', 'REPLY', 'ON'),
      S('a', 'PUBLISH', `${u}c`, 'shown again'),
      S('m', 'CLIENT', 'REPLY', 'SKIP'),
      S('m', 'PING', 'skipped, line too'),
      S('m', 'PING', 'back'),
      S('m', 'MULTI'),
      S('m', 'PUBLISH', `${u}c`, 'refused while queueing'),
      S('m', 'PING'),
      S('m', 'EXEC'),
      S('m', 'MULTI'),
      S('m', 'PING', 'q1'),
      S('m', 'ECHO', 'q2'),
      SO('m', ['EXEC'], { compare: monitorAfterReplyCmp }),
      S('m', 'SUBSCRIBE', `${u}c`),
      S('a', 'PUBLISH', `${u}c`, 'message, then the line'),
      S('m', 'PING'),
      S('m', 'ECHO', 'refused: subscribed'),
      S('m', 'UNSUBSCRIBE'),
    ]);
  });

  test('RESP3 monitor, a second monitor, RESET and QUIT leave monitor mode', TT, async () => {
    const u = uniq();
    await run('resp3-reset-quit', [
      SO('m', ['HELLO', '3'], { compare: 'hello' }),
      S('m', 'MONITOR'),
      S('n', 'MONITOR'),
      S('m', 'SUBSCRIBE', `${u}c`),
      S('a', 'PUBLISH', `${u}c`, 'push, then the line'),
      S('m', 'PING'),
      S('m', 'RESET'),
      S('a', 'PING', 'm no longer monitors'),
      S('m', 'PING'),
      S('n', 'QUIT'),
      S('a', 'PING', 'nobody monitors'),
      S('m', 'MONITOR'),
      S('a', 'QUIT'),
      S('m', 'PING'),
    ]);
  });

  test('over a unix socket the peer is "unix:<the listener\'s path>"', TT, async () => {
    const u = uniq();
    await run('unix', [
      S('m', 'MONITOR'),
      S('a', 'PUBLISH', `${u}c`, 'from a unix socket'),
      S('a', 'SELECT', '5'),
      S('m', 'PING'),
    ], { unix: true });
  });
});

describe('MONITOR: the comparison itself', () => {
  test('a wrong peer, a missing line, a bad time each fail the comparison', TT, async () => {
    const line = (t, peer, args) => Buffer.from(`+${t} [0 ${peer}] ${args}\r\n`);
    const now = (Date.now() / 1000).toFixed(6);
    const peers = {
      ref: { byAddr: new Map([['127.0.0.1:1', 'a'], ['127.0.0.1:2', 'b']]) },
      sub: { byAddr: new Map([['127.0.0.1:7', 'a'], ['127.0.0.1:8', 'b']]) },
    };
    const ok = monitorCmp(line(now, '127.0.0.1:1', '"PING"'), line(now, '127.0.0.1:7', '"PING"'), {}, peers);
    assert.equal(ok, undefined);
    assert.ok(monitorCmp(line(now, '127.0.0.1:1', '"PING"'), line(now, '127.0.0.1:8', '"PING"'), {}, peers));
    assert.ok(monitorCmp(line(now, '127.0.0.1:1', '"PING"'), Buffer.alloc(0), {}, peers));
    assert.ok(monitorCmp(line(now, '127.0.0.1:1', '"PING"'), line('12.000001', '127.0.0.1:7', '"PING"'), {}, peers));
    assert.ok(monitorCmp(line(now, '127.0.0.1:1', '"A"'), line(now, '127.0.0.1:7', '"a"'), {}, peers));
  });
});
