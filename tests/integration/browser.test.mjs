// A real browser against the real binary: headless Chromium (Debian's
// /usr/bin/chromium, driven by playwright-core, nothing downloaded) opens the
// built-in page, subscribes, and sees messages published with redis-cli and
// with the page's own publish form; then a bare EventSource checks event
// types, ids (the server's <ms>-<seq> on every event, a payload's own JSON
// "id" where it has one) and exact multi-line data.
// A screenshot of the page goes to $JL_BUILD_DIR/screenshots/page.png.

import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startJugglite, RawClient, decodeAll, sleep, withTimeout, BUILD_DIR } from './lib/harness.mjs';
import { chromiumPath } from './lib/browser.mjs';

const T = { timeout: 60000 };
const TOKEN = 'browser-token';

function redisCli(port, ...args) {
  return new Promise((resolve, reject) => {
    execFile('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...args], { timeout: 5000 },
      (err, stdout, stderr) => (err ? reject(new Error(`redis-cli: ${err.message} ${stderr}`)) : resolve(stdout.trim())));
  });
}

async function numsub(port, chan) {
  const c = await RawClient.connect(port);
  try { return decodeAll(await c.call(['PUBSUB', 'NUMSUB', chan]))[0][1]; } finally { c.close(); }
}

async function waitNumsub(port, chan, n, ms = 5000) {
  const end = Date.now() + ms;
  for (;;) {
    const got = await numsub(port, chan);
    if (got === n) return;
    if (Date.now() > end) throw new Error(`NUMSUB ${chan} is ${got}, expected ${n}`);
    await sleep(25);
  }
}

const exe = chromiumPath();

describe('browser', { skip: exe ? false : 'chromium not installed (apt-get install -y chromium)' }, () => {
  let srv, browser, context, profile;

  before(async () => {
    srv = await startJugglite({ args: ['--publish-token', TOKEN, '--keepalive', '1'] });
    profile = mkdtempSync(path.join(os.tmpdir(), 'jl-chromium-'));
    const { chromium } = await import('playwright-core');
    context = await withTimeout(chromium.launchPersistentContext(profile, {
      executablePath: exe,
      headless: true,
      timeout: 30000,
      viewport: { width: 1000, height: 800 },
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
        '--disable-background-networking', '--disable-component-update', '--disable-sync',
        '--disable-dev-shm-usage'],
    }), 40000, 'launch chromium');
    browser = context.browser();
  });

  after(async () => {
    await withTimeout(context?.close() ?? Promise.resolve(), 10000, 'close chromium').catch(() => {});
    await browser?.close().catch(() => {});
    if (profile) rmSync(profile, { recursive: true, force: true });
    await srv?.stop();
  });

  test('the built-in page subscribes, shows redis-cli and HTTP publishes', T, async () => {
    const page = await context.newPage();
    page.setDefaultTimeout(10000);
    const errors = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`http://127.0.0.1:${srv.ssePort}/`);
    assert.equal(await page.title(), 'jugglite');
    // Publishing is enabled (the page asked /health).
    await page.waitForFunction(() => !document.getElementById('publish').disabled);

    await page.fill('#channel', 'browser');
    await page.fill('#types', 'update');
    await page.click('#subscribe');
    await page.waitForFunction(() => document.getElementById('state').textContent === 'open');
    await waitNumsub(srv.respPort, 'browser', 1);

    assert.equal(await redisCli(srv.respPort, 'publish', 'browser', 'hello from redis-cli'), '1');
    await page.waitForSelector('#log li.event[data-type="message"] >> text=hello from redis-cli');

    assert.equal(await redisCli(srv.respPort, 'publish', 'browser', '{"event":"update","id":"u1","n":2}'), '1');
    const upd = await page.waitForSelector('#log li.event[data-type="update"][data-id="u1"]');
    assert.equal(await upd.$eval('pre', (e) => e.textContent), '{"event":"update","id":"u1","n":2}');

    // Event data is text, never HTML.
    await redisCli(srv.respPort, 'publish', 'browser', '<img src=x onerror="window.pwned=1">');
    await page.waitForSelector('#log li.event >> text=<img src=x');
    assert.equal(await page.evaluate(() => window.pwned), undefined);

    await page.fill('#token', TOKEN);
    await page.fill('#payload', 'from the page\nsecond line');
    await page.click('#publish');
    await page.waitForFunction(() => /published to browser: 1 receiver$/.test(document.getElementById('publish-result').textContent));
    const mine = await page.waitForSelector('#log li.event pre >> text=from the page');
    assert.equal(await mine.textContent(), 'from the page\nsecond line');

    await page.fill('#token', 'wrong');
    await page.click('#publish');
    await page.waitForFunction(() => /failed: 401/.test(document.getElementById('publish-result').textContent));

    const dir = path.join(BUILD_DIR, 'screenshots');
    mkdirSync(dir, { recursive: true });
    const shot = path.join(dir, 'page.png');
    await page.screenshot({ path: shot, fullPage: true });
    assert.ok(existsSync(shot));
    assert.deepEqual(errors, []);

    await page.click('#close');
    await waitNumsub(srv.respPort, 'browser', 0);
    await page.close();
  });

  test('a bare EventSource: types, ids and exact data', T, async () => {
    const page = await context.newPage();
    await page.goto(`http://127.0.0.1:${srv.ssePort}/health`);
    await page.evaluate(() => {
      window.got = [];
      window.es = new EventSource('/stream?channel=direct');
      const push = (e) => window.got.push({ type: e.type, data: e.data, id: e.lastEventId });
      window.es.onmessage = push;
      window.es.addEventListener('update', push);
      window.opened = new Promise((r) => { window.es.onopen = r; });
    });
    await withTimeout(page.evaluate(() => window.opened), 10000, 'EventSource open');
    await waitNumsub(srv.respPort, 'direct', 1);
    const payloads = [
      'plain',
      '{"event":"update","id":"9","v":1}',
      'a\nb\r\nc\rd',
      '  leading spaces',
      '',
      'trailing\n',
      'ünïcødé ✓ \u{1F600}',
    ];
    for (const p of payloads) {
      const c = await RawClient.connect(srv.respPort);
      assert.equal(decodeAll(await c.call(['PUBLISH', 'direct', p]))[0], 1);
      c.close();
    }
    await page.waitForFunction((n) => window.got.length >= n, payloads.length, { timeout: 10000 });
    const got = await page.evaluate(() => window.got);
    assert.deepEqual(got.map(({ type, data }) => ({ type, data })), [
      { type: 'message', data: 'plain' },
      { type: 'update', data: '{"event":"update","id":"9","v":1}' },
      { type: 'message', data: 'a\nb\nc\nd' },
      { type: 'message', data: '  leading spaces' },
      { type: 'message', data: '' },
      { type: 'message', data: 'trailing\n' },
      { type: 'message', data: 'ünïcødé ✓ \u{1F600}' },
    ]);
    // The JSON id wins for its event; every other one has the server's id,
    // increasing (one clock).
    assert.equal(got[1].id, '9');
    const serverIds = got.filter((_, i) => i !== 1).map((g) => g.id);
    for (const id of serverIds) assert.match(id, /^\d+-\d+$/);
    const key = (id) => id.split('-').map(BigInt);
    for (let i = 1; i < serverIds.length; i++) {
      const [am, as] = key(serverIds[i - 1]);
      const [bm, bs] = key(serverIds[i]);
      assert.ok(am < bm || (am === bm && as < bs), `server ids increase: ${serverIds.join(' ')}`);
    }
    assert.equal(await page.evaluate(() => window.es.readyState), 1);
    await page.evaluate(() => window.es.close());
    await page.close();
  });
});
