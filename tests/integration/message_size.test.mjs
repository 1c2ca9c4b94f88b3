// --max-message-size and --max-bulk on the RESP listener (issue 16).
//
// A PUBLISH / SPUBLISH whose message is over --max-message-size is refused
// with an error reply that names the limit, and nothing else happens: the
// connection stays open, keeps its subscriptions and keeps receiving, and
// the next command in the same pipeline runs. Only a bulk argument over
// the protocol's own limit (--max-bulk, Redis's proto-max-bulk-len) is a
// protocol error that closes the connection, as in Redis.

import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startJugglite, RawClient, encode, encodeMany, TARGET } from './lib/harness.mjs';

const T = { timeout: 60000 };
const LIMIT = 1000;     // --max-message-size 1k
const tooLarge = (n) => `-ERR message too large: ${n} bytes, the limit (--max-message-size) is ${LIMIT} bytes\r\n`;
const push = (ch, payload) => `>3\r\n$7\r\nmessage\r\n$${ch.length}\r\n${ch}\r\n$${payload.length}\r\n${payload}\r\n`;

let srv;
before(async () => {
  srv = await startJugglite({ args: ['--max-message-size', '1k', '--max-bulk', '1mb', '--port', '-1'], ssePort: null });
});
after(async () => { await srv?.stop(); });

async function client(...setup) {
  const c = await RawClient.connect(srv.respPort);
  for (const cmd of setup) await c.call(cmd);
  return c;
}

describe('a message over --max-message-size', { skip: TARGET === 'redis' && 'jugglite options' }, () => {
  test('is an error naming the limit; the subscribed connection stays and receives', T, async () => {
    const a = await client(['HELLO', '3'], ['SUBSCRIBE', 'news']);
    const b = await client();
    assert.equal((await a.call(['PUBLISH', 'news', 'x'.repeat(LIMIT + 1)])).toString(), tooLarge(LIMIT + 1));
    assert.equal((await a.call(['SPUBLISH', 'news', 'y'.repeat(5000)])).toString(), tooLarge(5000));
    assert.ok(!a.closed);
    // Still subscribed: another client's message arrives, and the count says 1.
    assert.equal((await b.call(['PUBLISH', 'news', 'after'])).toString(), ':1\r\n');
    assert.equal((await a.readExactly(push('news', 'after').length)).toString(), push('news', 'after'));
    // At the limit is fine, its own message included (reply first, then the push).
    const atLimit = 'z'.repeat(LIMIT);
    await a.send(encode('PUBLISH', 'news', atLimit));
    assert.equal((await a.readExactly(4)).toString(), ':1\r\n');
    assert.equal((await a.readExactly(push('news', atLimit).length)).toString(), push('news', atLimit));
    const sub = await a.call(['PUBSUB', 'NUMSUB', 'news']);
    assert.equal(sub.toString(), '*2\r\n$4\r\nnews\r\n:1\r\n');
    a.close();
    b.close();
  });

  test('in a pipeline and inside EXEC: the commands around it run', T, async () => {
    const c = await client();
    await c.send(encodeMany([['PUBLISH', 'p', 'q'.repeat(1500)], ['PING'], ['PUBLISH', 'p', 'ok']]));
    assert.equal((await c.readFrames(3)).toString(), tooLarge(1500) + '+PONG\r\n:0\r\n');
    await c.send(encodeMany([['MULTI'], ['PUBLISH', 'p', 'r'.repeat(2000)], ['PING'], ['EXEC']]));
    assert.equal((await c.readFrames(4)).toString(), `+OK\r\n+QUEUED\r\n+QUEUED\r\n*2\r\n${tooLarge(2000)}+PONG\r\n`);
    assert.equal((await c.call(['PING'])).toString(), '+PONG\r\n');
    c.close();
  });

  test('a bulk over --max-bulk is still a protocol error and a close', T, async () => {
    const c = await client();
    assert.equal((await c.call(['CONFIG', 'GET', 'proto-max-bulk-len'])).toString(),
      '*2\r\n$18\r\nproto-max-bulk-len\r\n$7\r\n1048576\r\n');
    await c.send(`*3\r\n$7\r\nPUBLISH\r\n$1\r\np\r\n$${1024 * 1024 + 1}\r\n`);
    await c.waitClose(10000);
    assert.equal(c.buf.toString(), '-ERR Protocol error: invalid bulk length\r\n');
    // Just under it: read whole, then refused as a message, connection kept.
    const d = await client();
    const big = 'b'.repeat(1024 * 1024);
    assert.equal((await d.call(['PUBLISH', 'p', big], 20000)).toString(), tooLarge(big.length));
    assert.equal((await d.call(['PING'])).toString(), '+PONG\r\n');
    d.close();
  });
});
