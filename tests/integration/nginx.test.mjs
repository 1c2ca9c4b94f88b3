// nginx.test.mjs -- the reverse-proxy configuration of docs/deployment.md,
// run for real: Debian's nginx on loopback in front of jugglite and a tiny
// "app", checking that events pass through unbuffered and the app still
// answers on the same origin.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import {
  startJugglite, freePort, RawClient, encode, SseClient, httpRequest, spawnTracked, sleep,
  SOURCE_DIR, cleanupAll,
} from './lib/harness.mjs';
import { nginxConfig } from './lib/nginx.mjs';

after(cleanupAll);

async function waitForPort(port, ms = 5000) {
  const end = Date.now() + ms;
  for (;;) {
    try {
      const c = await RawClient.connect(port, { timeout: 500 });
      c.sock.destroy();
      return;
    } catch (e) {
      if (Date.now() > end) throw e;
      await sleep(50);
    }
  }
}

test('nginx in front of jugglite passes events through unbuffered', { timeout: 60000 }, async () => {
  const jl = await startJugglite({ args: ['--keepalive', '30'] });
  const app = http.createServer((req, res) => res.end('hello from the app'));
  await new Promise((r) => app.listen(0, '127.0.0.1', r));
  after(() => app.close());
  const nginxPort = await freePort();

  const dir = mkdtempSync(path.join(os.tmpdir(), 'jl-nginx-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const block = readFileSync(path.join(SOURCE_DIR, 'docs/examples/nginx-single.conf'), 'utf8')
    .replace('server 127.0.0.1:3000;', `server 127.0.0.1:${jl.ssePort};`)
    .replace('server 127.0.0.1:8080;', `server 127.0.0.1:${app.address().port};`)
    .replace('listen 80;', `listen 127.0.0.1:${nginxPort};`);
  assert.notEqual(block.indexOf(String(jl.ssePort)), -1, 'the example names the SSE upstream');
  const conf = path.join(dir, 'nginx.conf');
  writeFileSync(conf, nginxConfig(block, dir));
  const nginx = spawnTracked('nginx', ['-p', dir, '-c', conf], { stdio: ['ignore', 'pipe', 'pipe'] });
  let nginxLog = '';
  nginx.stderr.on('data', (d) => { nginxLog += d; });
  await waitForPort(nginxPort).catch((e) => { throw new Error(`nginx did not start: ${e.message}\n${nginxLog}`); });

  const appRes = await httpRequest(nginxPort, { path: '/' });
  assert.equal(appRes.status, 200);
  assert.equal(appRes.body.toString(), 'hello from the app');

  const sse = await SseClient.open(nginxPort, '/stream?channel=news');
  assert.equal(sse.status, 200);
  assert.match(sse.headers['content-type'], /^text\/event-stream/);
  await sse.waitComments(1);
  assert.equal(sse.comments[0], ' registered to channels: news');

  const pub = await RawClient.connect(jl.respPort);
  // One event at a time: each must arrive on its own, before the next is
  // published, which a buffering proxy would not do.
  for (let i = 0; i < 5; i++) {
    const reply = await pub.call(['PUBLISH', 'news', `event ${i}`]);
    assert.equal(reply.toString(), ':1\r\n');
    const [ev] = await sse.takeEvents(1, 5000);
    assert.equal(ev.data, `event ${i}`);
  }

  const health = await httpRequest(nginxPort, { path: '/jugglite/health' });
  assert.equal(health.status, 200);
  assert.equal(JSON.parse(health.body.toString()).status, 'ok');
  sse.close();
  pub.sock.destroy();
});
