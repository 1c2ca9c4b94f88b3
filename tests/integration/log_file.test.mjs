// --log-file and logrotate: the server appends its lines to the file; after
// the file is renamed and SIGUSR1 sent, new lines land in a new file at the
// same path, and every line written before is in the renamed one.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, existsSync, renameSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startJugglite, RawClient, until, freePort, TARGET } from './lib/harness.mjs';

test('--log-file: lines in the file, SIGUSR1 reopens after a rename', { timeout: 60000, skip: TARGET === 'redis' && 'jugglite logs' }, async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'jl-logfile-'));
  const file = path.join(dir, 'jugglite.log');
  const port = await freePort();
  const srv = await startJugglite({ respPort: port, ssePort: null, ready: [], logLevel: 'debug',
    args: ['--log-file', file, '--requirepass', 'log-file-test-pass'] });
  try {
    const read = (f) => (existsSync(f) ? readFileSync(f, 'utf8') : '');
    await until(() => /RESP listening on \S+:\d+/.test(read(file)), 'the log line');
    const c = await RawClient.connect(port);
    assert.match((await c.call(['AUTH', 'nobody-pass'])).toString(), /^-/);
    await until(() => /failed AUTH/.test(read(file)), 'the log line');
    renameSync(file, file + '.1');
    srv.proc.kill('SIGUSR1');
    await until(() => /SIGUSR1: log file reopened/.test(read(file)), 'the log line');
    assert.match((await c.call(['AUTH', 'second-try'])).toString(), /^-/);
    await until(() => /failed AUTH/.test(read(file)), 'the log line');
    const old = read(file + '.1');
    assert.match(old, /RESP listening/);
    assert.equal(old.match(/failed AUTH/g).length, 1, 'the first failure stays in the rotated file');
    assert.doesNotMatch(old, /reopened/);
    assert.equal(read(file).match(/failed AUTH/g).length, 1);
    for (const l of (old + read(file)).trim().split('\n')) assert.match(l, /^\S+Z \d+ (DEBUG|INFO|WARN|ERROR) /);
    c.close();
  } finally { await srv.stop(); }
});
