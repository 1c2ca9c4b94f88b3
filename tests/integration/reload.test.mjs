// SIGHUP reloads the configuration (issue 15, item 4), against the real
// binary with live streams: the file is read again, what can change in a
// running server changes (allowed channels, log level, ...), nothing is
// dropped, a bad file is refused with the reason and the running
// configuration kept, and what needs a restart is named and left as is.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startJugglite, SseClient, RawClient, decodeAll, cleanupAll, until } from './lib/harness.mjs';

after(cleanupAll);
const dir = mkdtempSync(path.join(os.tmpdir(), 'jl-reload-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const T = { timeout: 30000 };

async function publish(port, chan, payload) {
  const c = await RawClient.connect(port);
  try { return decodeAll(await c.call(['PUBLISH', chan, payload]))[0]; } finally { c.close(); }
}

async function open(port, query) {
  const s = await SseClient.open(port, `/stream?${query}`);
  await s.waitBody((t) => t.includes('\n'));
  return s;
}

const registered = (s) => s.body.toString('latin1').split('\n')[0];

test('SIGHUP: allowed channels and log level change under live streams; a bad file is refused', T, async () => {
  const conf = path.join(dir, 'jugglite.conf');
  writeFileSync(conf, 'allowed-channels a,b\nlog-level info\nkeepalive 30\n');
  // No --log-level flag: it would win over the file's.
  const srv = await startJugglite({ logLevel: null, args: ['--config', conf] });
  const hup = async (what) => {
    const before = srv.output().length;
    srv.proc.kill('SIGHUP');
    await until(() => /SIGHUP: (configuration reloaded|the new configuration is refused)[^\n]*\n/.test(srv.output().slice(before)), what);
    return srv.output().slice(before);
  };
  try {
    const old = await open(srv.ssePort, 'channel=a,b,c');
    assert.equal(registered(old), ': registered to channels: a, b');

    writeFileSync(conf, 'allowed-channels a,b,c\nlog-level debug\nkeepalive 30\n');
    const log = await hup('the reload');
    assert.match(log, /INFO SIGHUP: configuration reloaded; changed: allowed-channels, log-level\n/);
    const fresh = await open(srv.ssePort, 'channel=c');
    assert.equal(registered(fresh), ': registered to channels: c');
    await until(() => / DEBUG /.test(srv.output()), 'debug lines after the reload');

    assert.equal(await publish(srv.respPort, 'a', 'to the old stream'), 1);
    assert.equal(await publish(srv.respPort, 'c', 'to the new one'), 1);
    assert.equal((await old.waitEvents(1, 5000))[0].data, 'to the old stream');
    assert.equal((await fresh.waitEvents(1, 5000))[0].data, 'to the new one');

    // A bad file: refused, with the file and line; the running configuration stays.
    writeFileSync(conf, 'allowed-channels a\nkeepalive soon\n');
    const refused = await hup('the refusal');
    assert.match(refused, new RegExp(`jugglite: ${conf.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:2: invalid value 'soon' for --keepalive`));
    assert.match(refused, /WARN SIGHUP: the new configuration is refused/);
    const still = await open(srv.ssePort, 'channel=c');
    assert.equal(registered(still), ': registered to channels: c', 'the previous allow-list is still in force');

    // What a running server cannot change is named, and kept.
    writeFileSync(conf, 'allowed-channels a,b,c\nlog-level debug\nkeepalive 5\n');
    const fixed = await hup('the partial reload');
    assert.match(fixed, /changed: nothing; not changed \(a restart is needed\): keepalive\n/);
    const info = String(decodeAll(await (await RawClient.connect(srv.respPort)).call(['INFO', 'jugglite']))[0]);
    assert.match(info, /keepalive_seconds:30\r\n/);

    for (const s of [old, fresh, still]) assert.ok(!s.closed, 'no stream was dropped');
    for (const s of [old, fresh, still]) s.close();
  } finally {
    const r = await srv.stop();
    assert.equal(r.code, 0);
  }
});
