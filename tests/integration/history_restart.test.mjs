// A jugglite restart (a deploy) under real clients: the `eventsource` npm
// client and headless Chromium's EventSource stay on the page while the
// process is stopped with SIGTERM and started again on the same ports.
//   - with --history-file: they reconnect with Last-Event-ID and miss
//     nothing, see nothing twice, get no gap event;
//   - without it: the first thing after the restart is the jugglite-gap
//     event (reason restart), then what the new process published.
// No wall-clock thresholds: waits have deadlines, nothing is timed.

import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startJugglite, RawClient, decodeAll, sleep, withTimeout, cleanupAll, until } from './lib/harness.mjs';
import { chromiumPath, launchChromium } from './lib/browser.mjs';

after(cleanupAll);

const T = { timeout: 120000 };

async function command(port, ...args) {
  const c = await RawClient.connect(port);
  try { return decodeAll(await c.call(args, 10000))[0]; } finally { c.close(); }
}


const streams = async (port) => Number(/sse_connected_streams:(\d+)/.exec(String(await command(port, 'INFO', 'jugglite')))[1]);

/** The clients: eventsource always, Chromium when installed. Each logs
 *  {data, id} for messages and {gap} for jugglite-gap events. */
async function openClients(ssePort, browser) {
  const { EventSource } = await import('eventsource');
  const es = new EventSource(`http://127.0.0.1:${ssePort}/stream?channel=deploy`);
  const esLog = [];
  es.onmessage = (e) => esLog.push({ data: e.data, id: e.lastEventId });
  es.addEventListener('jugglite-gap', (e) => esLog.push({ gap: JSON.parse(e.data) }));
  const clients = [{ name: 'eventsource', log: async () => esLog, close: async () => es.close() }];
  if (browser) {
    const page = await browser.newPage();
    await page.goto(`http://127.0.0.1:${ssePort}/health`);
    await page.evaluate(() => {
      window.log = [];
      window.es = new EventSource('/stream?channel=deploy');
      window.es.onmessage = (e) => window.log.push({ data: e.data, id: e.lastEventId });
      window.es.addEventListener('jugglite-gap', (e) => window.log.push({ gap: JSON.parse(e.data) }));
    });
    clients.push({ name: 'chromium', log: () => page.evaluate(() => window.log), close: () => page.close() });
  }
  return clients;
}

const shape = (log) => log.map((g) => (g.gap ? `GAP:${g.gap.channels.map((c) => c.reason).join(',')}` : g.data));

describe('history: a jugglite restart under eventsource and Chromium', () => {
  let browser;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'jl-hist-restart-'));
  after(async () => {
    await browser?.close().catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  });

  for (const withFile of [true, false]) {
    test(withFile ? 'with --history-file: nothing missed, nothing twice, no gap'
      : 'without a history file: the restart gap first, then what the new process published', T, async () => {
      if (chromiumPath() && !browser) browser = await withTimeout(launchChromium({ args: ['--no-first-run'] }), 40000, 'chromium');
      const file = path.join(dir, `history-${withFile}`);
      const args = ['--retry', '300', ...(withFile ? ['--history-file', file] : [])];
      // The first process picks its ports; the restart takes the same ones.
      let srv = await startJugglite({ args });
      const { ssePort, respPort } = srv;
      const start = () => startJugglite({ ssePort, respPort, args });
      const clients = await openClients(ssePort, browser);
      try {
        await until(async () => (await streams(respPort)) === clients.length, 'clients connected');
        for (const p of ['e1', 'e2', 'e3']) assert.equal(await command(respPort, 'PUBLISH', 'deploy', p), clients.length);
        for (const c of clients) await until(async () => (await c.log()).length === 3, `${c.name}: e1..e3`);

        const r = await srv.stop();
        assert.equal(r.code, 0);
        assert.equal(existsSync(file), withFile, 'the file is written on SIGTERM only when asked for');
        srv = await start();
        if (withFile) await until(() => /history: 3 events from /.test(srv.stderr()), 'the history file read');
        // Published by the new process, before or after the clients are back.
        assert.ok(Number.isInteger(await command(respPort, 'PUBLISH', 'deploy', 'd1')));
        await until(async () => (await streams(respPort)) === clients.length, 'clients reconnected');
        assert.equal(await command(respPort, 'PUBLISH', 'deploy', 'f1'), clients.length);
        const want = withFile ? ['e1', 'e2', 'e3', 'd1', 'f1'] : ['e1', 'e2', 'e3', 'GAP:restart', 'd1', 'f1'];
        for (const c of clients) await until(async () => (await c.log()).length >= want.length, `${c.name}: all of ${want}`);
        await sleep(200);
        for (const c of clients) {
          const log = await c.log();
          assert.deepEqual(shape(log), want, `${c.name}`);
          const ids = log.filter((g) => g.data).map((g) => g.id);
          assert.equal(new Set(ids).size, ids.length, `${c.name}: one id per event`);
        }
      } finally {
        for (const c of clients) await c.close();
        await srv.stop();
      }
    });
  }
});
