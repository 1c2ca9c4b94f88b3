// The built-in page as a newcomer meets it (issue 16, item 2), in headless
// Chromium against the real binary, read from the page's DOM:
//   - an empty subscription (no channel, no pattern) is refused, nothing opens;
//   - the channels the server registered and those it dropped are shown
//     (here: one outside --allowed-channels, one past --max-stream-channels,
//     and a pattern, which an allow-list always drops);
//   - every event is listed, named or not, with its data, its event name and
//     its id (the server's <ms>-<seq>, or the payload's own JSON "id") --
//     published from the page and over RESP from outside;
//   - "Event types" is explained, and a name typed there is listened for at once.
// Screenshots of those states go to $JL_BUILD_DIR/screenshots/page-*.png, as
// evidence only: nothing here compares pixels.

import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { startJugglite, httpRequest, sleep, withTimeout, BUILD_DIR } from './lib/harness.mjs';
import { publish } from './lib/hostile.mjs';
import { chromiumPath, launchChromium } from './lib/browser.mjs';

const T = { timeout: 60000 };
const TOKEN = 'page-token';
const NS = 'app:';
const SHOTS = path.join(BUILD_DIR, 'screenshots');

const exe = chromiumPath();

describe('the built-in page', { skip: exe ? false : 'chromium not installed (apt-get install -y chromium)' }, () => {
  let srv, browser, context;

  before(async () => {
    srv = await startJugglite({
      args: ['--publish-token', TOKEN, '--namespace', NS,
        '--allowed-channels', 'news,chat,extra', '--max-stream-channels', '2'],
    });
    browser = await withTimeout(launchChromium({ args: ['--disable-quic', '--no-first-run'] }), 40000, 'launch chromium');
    context = await browser.newContext({ viewport: { width: 1000, height: 900 } });
    mkdirSync(SHOTS, { recursive: true });
  });

  after(async () => {
    await withTimeout(browser?.close() ?? Promise.resolve(), 10000, 'close chromium').catch(() => {});
    await srv?.stop();
  });

  const health = async () => JSON.parse((await httpRequest(srv.ssePort, { path: '/health' })).body.toString());

  // The page reads the registration comment on a stream of its own before it
  // opens its EventSource; wait until that one is gone, so each publish
  // counts the page once.
  async function streams(n) {
    for (let i = 0; ; i++) {
      const got = (await health()).sse_streams;
      if (got === n) return;
      if (i > 200) throw new Error(`sse_streams is ${got}, expected ${n}`);
      await sleep(25);
    }
  }

  async function openPage() {
    const page = await context.newPage();
    page.setDefaultTimeout(10000);
    page.errors = [];
    page.on('pageerror', (e) => page.errors.push(e.message));
    await page.goto(`http://127.0.0.1:${srv.ssePort}/`);
    await page.waitForFunction(() => !document.getElementById('publish').disabled);
    await page.fill('#token', TOKEN);
    return page;
  }

  // A screenshot of the state reached, then the page goes and its stream with it.
  async function finish(page, name) {
    await page.screenshot({ path: path.join(SHOTS, `page-${name}.png`), fullPage: true });
    assert.deepEqual(page.errors, []);
    await page.close();
    await streams(0);
  }

  async function subscribe(page, channel, pattern = '') {
    await page.fill('#channel', channel);
    await page.fill('#pattern', pattern);
    await page.click('#subscribe');
    await page.waitForFunction(() => document.getElementById('state').textContent === 'open');
    await streams(1);
  }

  async function publishFromPage(page, payload, channel) {
    await page.fill('#payload', payload);
    await page.evaluate(() => { document.getElementById('publish-result').textContent = ''; });
    await page.click('#publish');
    await page.waitForFunction((ch) => document.getElementById('publish-result').textContent
      === `published to ${ch}: 1 receiver`, channel);
  }

  const codes = (page, sel) => page.$$eval(`${sel} code`, (cs) => cs.map((c) => c.textContent));

  // The log as the page shows it: an id only where the page shows one.
  const rows = (page) => page.$$eval('#log li.event', (lis) => lis.map((li) => ({
    type: li.querySelector('.type').textContent,
    dataType: li.dataset.type,
    id: li.dataset.id ?? null,
    shownId: li.querySelector('.id')?.textContent ?? null,
    data: li.querySelector('pre').textContent,
  })));

  async function waitRow(page, data) {
    await page.waitForFunction((d) => [...document.querySelectorAll('#log li.event pre')]
      .some((p) => p.textContent === d), data);
  }

  test('an empty subscription is refused and opens nothing', T, async () => {
    const page = await openPage();
    for (const [channel, pattern] of [['', ''], [' , ', ' ']]) {
      await page.fill('#channel', channel);
      await page.fill('#pattern', pattern);
      await page.evaluate(() => { document.getElementById('subscribe-result').textContent = ''; });
      await page.click('#subscribe');
      await page.waitForFunction(() => /enter a channel or a pattern/.test(document.getElementById('subscribe-result').textContent));
    }
    assert.equal(await page.textContent('#state'), 'idle');
    assert.equal(await page.$$eval('#log li', (l) => l.length), 0, 'nothing logged as subscribed');
    assert.equal((await health()).sse_streams, 0, 'no stream opened');
    await finish(page, 'empty');
  });

  test('the registered and the dropped channels are shown', T, async () => {
    const page = await openPage();
    // secret: not allowed; extra: allowed but past --max-stream-channels 2;
    // chat twice: once.
    await subscribe(page, 'news, chat, secret,chat, extra');
    await page.waitForSelector('#registered code');
    assert.deepEqual(await codes(page, '#registered'), [`${NS}news`, `${NS}chat`]);
    assert.deepEqual(await codes(page, '#dropped'), ['secret', 'extra']);
    assert.ok(await page.isVisible('#dropped-why'), 'why names get dropped');
    assert.match(await page.textContent('#dropped-why'), /--allowed-channels/);
    // The registration was read on a stream of its own, gone now: a publish
    // reaches the page once.
    assert.equal(await publish(srv.respPort, `${NS}news`, 'counted once'), 1);
    await waitRow(page, 'counted once');

    // Everything allowed: nothing dropped.
    await subscribe(page, 'chat');
    await page.waitForFunction((name) => document.getElementById('registered').textContent === name, `${NS}chat`);
    assert.deepEqual([await page.textContent('#dropped'), await page.isVisible('#dropped-why')], ['none', false]);

    // A pattern: off with an allow-list, even if --allow-patterns were given.
    await subscribe(page, 'news, secret', 'news.*');
    await page.waitForFunction(() => document.getElementById('dropped').textContent.includes('news.*'));
    assert.deepEqual(await codes(page, '#registered'), [`${NS}news`]);
    assert.deepEqual(await codes(page, '#dropped'), ['secret', 'news.*']);
    await finish(page, 'dropped');
  });

  test('every event is listed, named or not, with its id', T, async () => {
    const page = await openPage();
    await subscribe(page, 'news');
    // From the page: a plain message, then the placeholder's named event,
    // with nothing typed into "Event types".
    await publishFromPage(page, 'plain, from the page', 'news');
    await publishFromPage(page, '{"event":"update","id":"1","text":"hi"}', 'news');
    // From outside, over RESP.
    const outside = [
      'plain, from outside',                                   // lastEventId stays "1"
      '{"text":"json, no id"}',
      '{"text":"json, the same id again","id":"1"}',           // carried "1" itself
      '{"event":"update","id":7,"text":"named, from outside"}', // a name the page knows
      'last',
    ];
    for (const p of outside) assert.equal(await publish(srv.respPort, `${NS}news`, p), 1);
    await waitRow(page, 'last');
    const got = await rows(page);
    // SERVER: the server's id, which every event without a JSON id of its own gets.
    const SERVER = '<server id>';
    const row = (type, id, data) => ({ type, dataType: type, id, shownId: `id: ${id}`, data });
    const want = [
      row('message', SERVER, 'plain, from the page'),
      row('update', '1', '{"event":"update","id":"1","text":"hi"}'),
      row('message', SERVER, 'plain, from outside'),
      row('message', SERVER, '{"text":"json, no id"}'),
      row('message', '1', '{"text":"json, the same id again","id":"1"}'),
      row('update', '7', '{"event":"update","id":7,"text":"named, from outside"}'),
      row('message', SERVER, 'last'),
    ];
    assert.equal(got.length, want.length, JSON.stringify(got));
    const serverIds = [];
    for (let i = 0; i < want.length; i++) {
      if (want[i].id === SERVER) {
        assert.match(got[i].id ?? '', /^\d+-\d+$/, `row ${i}: ${JSON.stringify(got[i])}`);
        serverIds.push(got[i].id);
        assert.deepEqual(got[i], { ...want[i], id: got[i].id, shownId: `id: ${got[i].id}` }, `row ${i}`);
      } else {
        assert.deepEqual(got[i], want[i], `row ${i}`);
      }
    }
    const key = (id) => id.split('-').map(BigInt);
    for (let i = 1; i < serverIds.length; i++) {
      const [am, as] = key(serverIds[i - 1]);
      const [bm, bs] = key(serverIds[i]);
      assert.ok(am < bm || (am === bm && as < bs), `server ids increase: ${serverIds.join(' ')}`);
    }
    await finish(page, 'events');
  });

  test('"Event types" is explained, and a name typed there is listened for at once', T, async () => {
    const page = await openPage();
    const help = await page.$$eval('p', (ps) => ps.map((p) => p.textContent.replace(/\s+/g, ' '))
      .filter((t) => /Event types/.test(t)));
    assert.equal(help.length, 1, 'one paragraph explains Event types');
    assert.match(help[0], /"event"/);
    assert.match(help[0], /published by others/);

    await subscribe(page, 'chat');
    await page.fill('#types', 'alert');
    await page.press('#types', 'Tab');
    assert.equal(await publish(srv.respPort, `${NS}chat`, '{"event":"alert","level":3}'), 1);
    assert.equal(await publish(srv.respPort, `${NS}chat`, 'last'), 1);
    await waitRow(page, 'last');
    assert.deepEqual((await rows(page)).map((r) => [r.type, r.data]),
      [['alert', '{"event":"alert","level":3}'], ['message', 'last']]);
    await finish(page, 'event-types');
  });
});

// The live channel list (GET /channels, with --metrics): the page shows each
// name with subscribers on the node, how many (SSE streams and RESP clients
// alike), and the rate it computes from two polls; behind
// --metrics-token-file it asks for the token; without --metrics it says how
// to turn the list on.
describe('the built-in page: live channels', { skip: exe ? false : 'chromium not installed (apt-get install -y chromium)' }, () => {
  let browser;
  before(async () => { browser = await withTimeout(launchChromium({ args: ['--disable-quic', '--no-first-run'] }), 40000, 'launch chromium'); });
  after(async () => { await withTimeout(browser?.close() ?? Promise.resolve(), 10000, 'close chromium').catch(() => {}); });

  const row = (page, name) => page.evaluate((n) => {
    const tr = [...document.querySelectorAll('#channels tbody tr')].find((r) => r.dataset.name === n);
    return tr ? { kind: tr.dataset.kind, subscribers: Number(tr.querySelector('.subscribers').textContent),
      rate: tr.querySelector('.rate').textContent, messages: Number(tr.querySelector('.messages').textContent) } : null;
  }, name);

  test('subscribers and message rates, SSE and RESP, channels and patterns', { timeout: 90000 }, async () => {
    const { SseClient, RawClient } = await import('./lib/harness.mjs');
    const srv = await startJugglite({ args: ['--metrics', '--allow-patterns'] });
    const open = [];
    try {
      for (let i = 0; i < 2; i++) {
        const s = await SseClient.open(srv.ssePort, '/stream?channel=live');
        await s.waitComments(1);
        open.push(s);
      }
      const r = await RawClient.connect(srv.respPort);
      open.push(r);
      await r.call(['SUBSCRIBE', 'live']);
      const p = await RawClient.connect(srv.respPort);
      open.push(p);
      await p.call(['PSUBSCRIBE', 'li*']);
      const page = await browser.newPage();
      page.errors = [];
      page.on('pageerror', (e) => page.errors.push(e.message));
      await page.goto(`http://127.0.0.1:${srv.ssePort}/`);
      await page.waitForFunction(() => !document.getElementById('channels').hidden, null, { timeout: 20000 });
      // publish on, poll after poll, until the page shows a rate
      let sent = 0;
      const deadline = Date.now() + 40000;
      let got = null;
      while (Date.now() < deadline) {
        for (let i = 0; i < 5; i++, sent++) assert.equal(await publish(srv.respPort, 'live', `m${sent}`), 4);
        await sleep(200);
        got = await row(page, 'live');
        if (got && Number(got.rate) > 0) break;
      }
      assert.ok(got && Number(got.rate) > 0, `a rate for live: ${JSON.stringify(got)}`);
      assert.equal(got.kind, 'channel');
      assert.equal(got.subscribers, 3, 'two SSE streams and a RESP client');
      assert.ok(got.messages > 0 && got.messages <= sent, `${got.messages} of ${sent}`);
      const pat = await row(page, 'li*');
      assert.deepEqual([pat.kind, pat.subscribers], ['pattern', 1]);
      assert.match(await page.textContent('#channels-note'), /^2 names with subscribers on this node/);
      assert.equal(await page.isVisible('#channels-form'), false, 'no token asked for without --metrics-token-file');
      // the JSON the page reads
      const doc = JSON.parse((await httpRequest(srv.ssePort, { path: '/channels' })).body.toString());
      assert.deepEqual([doc.channels, doc.patterns, doc.list[0].name, doc.list[0].subscribers], [1, 1, 'live', 3]);
      await page.screenshot({ path: path.join(SHOTS, 'page-live-channels.png'), fullPage: true });
      assert.deepEqual(page.errors, []);
      await page.close();
    } finally {
      for (const c of open) c.close();
      await srv.stop();
    }
  });

  test('behind --metrics-token-file: the page asks for the token; without --metrics: how to turn it on', { timeout: 60000 }, async () => {
    const { mkdtempSync, writeFileSync, rmSync } = await import('node:fs');
    const os = await import('node:os');
    const dir = mkdtempSync(path.join(os.tmpdir(), 'jl-page-'));
    writeFileSync(path.join(dir, 'token'), 'live-token\n');
    const srv = await startJugglite({ args: ['--metrics', '--metrics-token-file', path.join(dir, 'token')] });
    const plain = await startJugglite();
    try {
      const page = await browser.newPage();
      await page.goto(`http://127.0.0.1:${srv.ssePort}/`);
      await page.waitForFunction(() => !document.getElementById('channels-form').hidden, null, { timeout: 20000 });
      assert.equal(await page.isVisible('#channels-token'), true);
      assert.equal((await httpRequest(srv.ssePort, { path: '/channels' })).status, 401);
      await page.fill('#channels-token', 'live-token');
      await page.click('#channels-form button');
      await page.waitForFunction(() => !document.getElementById('channels').hidden, null, { timeout: 20000 });
      assert.match(await page.textContent('#channels-note'), /No channel has a subscriber/);
      await page.goto(`http://127.0.0.1:${plain.ssePort}/`);
      await page.waitForFunction(() => /--metrics/.test(document.getElementById('channels-note').textContent), null, { timeout: 20000 });
      assert.equal((await httpRequest(plain.ssePort, { path: '/channels' })).status, 404);
      await page.close();
    } finally {
      await srv.stop();
      await plain.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
