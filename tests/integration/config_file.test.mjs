// --config FILE, JUGGLITE_<NAME> and --test-config, against the real binary:
//   - a server configured by a file (and overridden by the environment and
//     a flag) listens where the winning source says and enforces the file's
//     requirepass, which never shows in /proc/PID/cmdline or in INFO;
//   - --test-config: exit 0 on a good file, 2 with file:line on a bad one,
//     without opening a listener.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startJugglite, startRedis, jugglitePath, RawClient, decodeAll, spawnTracked, cleanupAll, freePort } from './lib/harness.mjs';

after(cleanupAll);
const dir = mkdtempSync(path.join(os.tmpdir(), 'jl-config-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const T = { timeout: 30000 };

test('a file, the environment and a flag, in that order of precedence; the secret stays out of argv', T, async () => {
  const [filePort, envPort] = [await freePort(), await freePort()];
  const conf = path.join(dir, 'jugglite.conf');
  writeFileSync(conf, `# test\nresp-port ${filePort}\nport -1\nrequirepass open sesame, from the file\nkeepalive 7\n`);
  const srv = await startJugglite({
    respPort: null, ssePort: null, args: ['--config', conf, '--keepalive', '9'],
    env: { JUGGLITE_RESP_PORT: String(envPort) },
    ready: [/RESP listening on (\S+):(\d+)/],
  });
  try {
    assert.equal(srv.respPort, envPort, 'the environment over the file');
    const cmdline = readFileSync(`/proc/${srv.proc.pid}/cmdline`, 'latin1');
    assert.ok(!cmdline.includes('sesame'), cmdline);
    const c = await RawClient.connect(envPort);
    try {
      assert.match(String(decodeAll(await c.call(['PING']))[0]), /NOAUTH/);
      assert.equal(decodeAll(await c.call(['AUTH', 'open sesame, from the file']))[0], 'OK');
      const info = String(decodeAll(await c.call(['INFO', 'jugglite']))[0]);
      assert.match(info, /keepalive_seconds:9\r\n/, 'the flag over the file');
      const all = String(decodeAll(await c.call(['INFO', 'everything']))[0]);
      assert.ok(!all.includes('sesame'), 'the password is not in INFO');
    } finally { c.close(); }
    assert.ok(!srv.output().includes('sesame'), 'nor in the log');
  } finally {
    await srv.stop();
  }
});

test('--test-config: 0 on a good file, 2 with the file and line on a bad one, nothing listens', T, async () => {
  const good = path.join(dir, 'good.conf');
  const bad = path.join(dir, 'bad.conf');
  writeFileSync(good, 'port 0\nresp-port 0\naddress 127.0.0.1\nallow-patterns yes\n');
  writeFileSync(bad, 'port 0\n\nhistory-size lots\n');
  const ok = await spawnTracked(jugglitePath(), ['--config', good, '--test-config']).waitExit(10000);
  assert.equal(ok.code, 0);
  assert.equal(ok.out, 'jugglite: the configuration is valid\n');
  assert.doesNotMatch(ok.err, /listening/);
  const no = await spawnTracked(jugglitePath(), ['--config', bad, '--test-config']).waitExit(10000);
  assert.equal(no.code, 2);
  assert.equal(no.err, `jugglite: ${bad}:3: invalid value 'lots' for --history-size (see --help)\n`);
  const env = await spawnTracked(jugglitePath(), ['--test-config'], { env: { ...process.env, JUGGLITE_NOPE: '1', JUGGLITE_PORT: 'x' } }).waitExit(10000);
  assert.equal(env.code, 2);
  assert.match(env.err, /^jugglite: JUGGLITE_PORT: invalid value 'x' for --port/);
});

// Every secret, by flag and by file, against a real password-protected
// Redis upstream: none is in /proc/PID/cmdline, INFO, CONFIG GET or the log
// (at debug level), and each still works.
test('secrets by flag and by file: never in cmdline, INFO, CONFIG GET or the log; each works', T, async () => {
  const redisPass = 'upstream-secret-77';
  const redis = await startRedis({ args: ['--requirepass', redisPass] });
  const pubFile = path.join(dir, 'publish.token');
  const upFile = path.join(dir, 'upstream.pass');
  writeFileSync(pubFile, 'publish-secret-55\n');
  writeFileSync(upFile, `${redisPass}\n`);
  const secrets = ['flag-secret-99', 'publish-secret-55', redisPass, 'url-secret-33'];
  const srv = await startJugglite({
    logLevel: 'debug',
    args: ['--requirepass=flag-secret-99', '--publish-token-file', pubFile,
      // The URL's (wrong) password is overridden by the file's.
      '--upstream', `redis://default:url-secret-33@127.0.0.1:${redis.port}`, '--upstream-pass-file', upFile],
  });
  try {
    // Under valgrind, /proc/PID/cmdline is valgrind's own copy of the
    // command line, which the server cannot reach: only the file-borne
    // secrets can be checked there.
    const flagBorne = process.env.JL_VALGRIND ? ['flag-secret-99', 'url-secret-33'] : [];
    const cmdline = readFileSync(`/proc/${srv.proc.pid}/cmdline`, 'latin1');
    for (const s of secrets.filter((x) => !flagBorne.includes(x))) assert.ok(!cmdline.includes(s), `${s} in ${cmdline}`);
    assert.ok(cmdline.includes(`@127.0.0.1:${redis.port}`), 'the upstream host stays readable');
    const c = await RawClient.connect(srv.respPort);
    try {
      assert.equal(decodeAll(await c.call(['AUTH', 'flag-secret-99']))[0], 'OK');
      const cfg = decodeAll(await c.call(['CONFIG', 'GET', '*']))[0];
      assert.equal(cfg[cfg.indexOf('requirepass') + 1], '(redacted)');
      const text = JSON.stringify(cfg) + String(decodeAll(await c.call(['INFO', 'everything']))[0]);
      for (const s of secrets) assert.ok(!text.includes(s), `${s} in CONFIG GET or INFO`);
      // The upstream authenticated with the file's password: it comes up.
      for (let i = 0; ; i++) {
        const up = String(decodeAll(await c.call(['INFO', 'upstream']))[0]);
        if (/upstream_state:up/.test(up)) break;
        assert.ok(i < 100, `the upstream never came up:\n${up}\n${srv.logTail(20)}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    } finally { c.close(); }
    const res = await fetch(`http://127.0.0.1:${srv.ssePort}/publish?channel=c`, {
      method: 'POST', body: 'hi', headers: { authorization: 'Bearer publish-secret-55' },
    });
    await res.text();
    assert.ok(res.status === 200 || res.status === 202, `publish with the file's token: ${res.status}`);
    const log = srv.output();
    for (const s of secrets) assert.ok(!log.includes(s), `${s} in the log`);
    assert.match(log, /a secret was given on the command line/);
  } finally {
    await srv.stop();
    await redis.stop();
  }
});
