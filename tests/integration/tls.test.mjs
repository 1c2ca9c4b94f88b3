// tls.test.mjs -- TLS on both listeners and to the upstream, against the real
// binary, with real clients and a throwaway CA (lib/tls.mjs):
//   - curl over HTTPS (HTTP/1.1; h2.test.mjs has HTTP/2): a stream, /health;
//     ALPN http/1.1; TLS 1.1 refused;
//   - redis-cli --tls against --resp-tls-port answers as redis-server's own
//     TLS port does, and a PUBLISH over TLS reaches an HTTPS stream;
//     ioredis and node-redis (rediss://) publish and subscribe over it;
//   - headless Chromium with HTTP/2 off, trusting the CA (an NSS database,
//     no --ignore-certificate-errors), opens EventSources on an https page;
//   - the bridge over rediss:// to a TLS redis-server: verified with the CA
//     (and a client certificate when Redis asks for one); without the CA it
//     never comes up and says why;
//   - SIGHUP reloads the certificate: new handshakes get the new one, an
//     open stream goes on;
//   - hostile TLS clients (plain HTTP, garbage, a handshake that never ends)
//     are closed and hurt nobody else;
//   - testssl.sh finds nothing of severity MEDIUM or worse.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, readFileSync, existsSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { startJugglite, startRedis, freePort, until, sleep, cleanupAll, RawClient, decodeAll } from './lib/harness.mjs';
import { makeCerts } from './lib/tls.mjs';
import { chromiumPath, launchChromium, trustCa } from './lib/browser.mjs';

after(cleanupAll);
const dir = mkdtempSync(path.join(os.tmpdir(), 'jl-tls-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const certs = makeCerts(path.join(dir, 'certs'));
const T = { timeout: 120000 };
const has = (cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;

function run(cmd, args, { timeout = 20000, input } = {}) {
  return new Promise((resolve) => {
    const p = execFile(cmd, args, { timeout, encoding: 'latin1', maxBuffer: 64 << 20 }, (err, stdout, stderr) =>
      resolve({ code: err ? (err.code ?? 1) : 0, out: stdout, err: stderr }));
    if (input !== undefined) p.stdin.end(input);
  });
}

async function command(port, ...args) {
  const c = await RawClient.connect(port);
  try { return decodeAll(await c.call(args, 10000))[0]; } finally { c.close(); }
}

const tlsArgs = (extra = []) => ['--tls-cert-file', certs.cert, '--tls-key-file', certs.key, ...extra];

async function startTls(extra = [], opts = {}) {
  const [tlsPort, respTlsPort] = [await freePort(), await freePort()];
  const srv = await startJugglite({
    ...opts,
    args: [...tlsArgs(['--tls-port', String(tlsPort), '--resp-tls-port', String(respTlsPort)]), ...extra],
    ready: [/RESP listening on (\S+):(\d+)/, /SSE listening on (\S+):(\d+)/, /SSE\/TLS listening/, /RESP\/TLS listening/],
  });
  return Object.assign(srv, { tlsPort, respTlsPort });
}

/** curl, verifying against the test CA; resolves {code, out, err}. */
const curl = (args, opts) => run('curl', ['-sS', '--cacert', certs.ca, ...args], opts);

/** The certificate serial a fresh handshake sees. */
async function servedSerial(port) {
  const r = await run('openssl', ['s_client', '-connect', `127.0.0.1:${port}`, '-CAfile', certs.ca], { input: '' });
  const pem = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(r.out)[0];
  const x = await run('openssl', ['x509', '-noout', '-serial'], { input: pem });
  return parseInt(/serial=([0-9A-F]+)/i.exec(x.out)[1], 16);
}

describe('TLS listeners', () => {
  let srv;
  // A short head timeout closes the stalled handshake of the hostile test
  // quickly; under valgrind a real handshake takes most of a second.
  before(async () => { srv = await startTls(['--head-timeout', process.env.JL_VALGRIND ? '5' : '1']); });
  after(async () => { await srv?.stop(); });

  test('curl over HTTPS: a stream and /health, ALPN http/1.1, TLS 1.1 refused', T, async () => {
    // HTTP/1.1 over TLS here (h2.test.mjs has HTTP/2): a client offering
    // only http/1.1 gets it.
    const health = await curl(['-v', '--http1.1', `https://localhost:${srv.tlsPort}/health`]);
    assert.equal(health.code, 0, health.err);
    assert.match(health.out, /"status":"ok"/);
    assert.match(health.err, /ALPN: server accepted http\/1\.1/);
    assert.match(health.err, /SSL connection using TLSv1\.3/);
    const stream = curl(['-N', '--http1.1', '--max-time', '3', `https://localhost:${srv.tlsPort}/stream?channel=tls`]);
    await until(async () => Number((await command(srv.respPort, 'PUBSUB', 'NUMSUB', 'tls'))[1]) === 1,
      'the HTTPS stream subscribed');
    const pub = await run('redis-cli', ['--tls', '--cacert', certs.ca, '-p', String(srv.respTlsPort), 'PUBLISH', 'tls', 'over TLS both ways']);
    assert.equal(pub.out.trim(), '1', pub.err);
    const r = await stream;
    assert.match(r.out, /data: over TLS both ways\n\n/);
    const old = await curl(['--tlsv1.1', '--tls-max', '1.1', `https://localhost:${srv.tlsPort}/health`]);
    assert.notEqual(old.code, 0, 'TLS 1.1 is refused');
    const untrusted = await run('curl', ['-sS', `https://localhost:${srv.tlsPort}/health`]);
    assert.notEqual(untrusted.code, 0, 'the certificate is checked by the client (no CA: refused)');
  });

  test('redis-cli --tls answers as redis-server on its TLS port does', T, async () => {
    const redisTls = await freePort();
    const redis = await startRedis({ args: ['--tls-port', String(redisTls), '--tls-cert-file', certs.cert,
      '--tls-key-file', certs.key, '--tls-ca-cert-file', certs.ca, '--tls-auth-clients', 'no'] });
    try {
      const cmds = [['PING'], ['ECHO', 'tls'], ['PUBLISH', 'c', 'm'], ['PUBSUB', 'NUMSUB', 'c'], ['HELLO', '3'], ['NOSUCH']];
      for (const cmd of cmds) {
        const args = (port) => ['--tls', '--cacert', certs.ca, '-p', String(port), ...cmd];
        const [a, b] = [await run('redis-cli', args(srv.respTlsPort)), await run('redis-cli', args(redisTls))];
        if (cmd[0] === 'HELLO') {
          assert.match(a.out, /proto\s+3/);
          continue;
        }
        assert.equal(a.out, b.out, `${cmd.join(' ')}: ${a.err}`);
      }
    } finally { await redis.stop(); }
  });

  test('rediss:// clients: ioredis and node-redis publish and subscribe over --resp-tls-port', T, async () => {
    const { default: IORedis } = await import('ioredis');
    const { createClient } = await import('redis');
    const ca = readFileSync(certs.ca);
    const sub = new IORedis({ host: 'localhost', port: srv.respTlsPort, tls: { ca }, lazyConnect: true });
    const pub = createClient({ url: `rediss://localhost:${srv.respTlsPort}`, socket: { tls: true, ca } });
    try {
      await sub.connect();
      const got = new Promise((resolve) => sub.on('message', (ch, m) => resolve(`${ch}:${m}`)));
      await sub.subscribe('rediss');
      await pub.connect();
      assert.equal(await pub.publish('rediss', 'through TLS both ways'), 1);
      assert.equal(await got, 'rediss:through TLS both ways');
    } finally {
      sub.disconnect();
      await pub.quit().catch(() => {});
    }
  });

  test('Chromium (HTTP/2 off), trusting the CA, opens EventSources on an https page; all receive', T, async (t) => {
    if (!chromiumPath()) return t.skip('no chromium');
    const home = path.join(dir, 'chromium-home');
    await trustCa(home, certs.ca);
    const browser = await launchChromium({ env: { HOME: home }, args: ['--disable-http2'] });
    try {
      const page = await browser.newPage();
      const resp = await page.goto(`https://localhost:${srv.tlsPort}/health`);
      assert.equal(resp.status(), 200);
      const N = 5; // HTTP/1.1: Chromium keeps 6 connections per host
      await page.evaluate((n) => {
        window.got = [];
        for (let i = 0; i < n; i++) {
          const es = new EventSource(`/stream?channel=page${i}`);
          es.onmessage = (e) => window.got.push(`${i}:${e.data}`);
        }
      }, N);
      const c = await RawClient.connect(srv.respPort);
      try {
        await until(async () => {
          const counts = decodeAll(await c.call(['PUBSUB', 'NUMSUB', ...Array.from({ length: N }, (_, i) => `page${i}`)]))[0];
          return counts.filter((x, i) => i % 2 === 1).every((x) => Number(x) === 1);
        }, 'every EventSource subscribed');
        for (let i = 0; i < N; i++) await c.call(['PUBLISH', `page${i}`, `hello ${i}`]);
      } finally { c.close(); }
      await until(async () => (await page.evaluate(() => window.got.length)) === N, 'every EventSource received');
      assert.deepEqual((await page.evaluate(() => window.got)).sort(), Array.from({ length: N }, (_, i) => `${i}:hello ${i}`));
      const proto = await page.evaluate(() => performance.getEntriesByType('navigation')[0].nextHopProtocol);
      assert.equal(proto, 'http/1.1');
    } finally { await browser.close(); }
  });

  test('hostile TLS clients: plain HTTP, garbage, a stalled handshake; the others are unaffected', T, async () => {
    const closedAfter = (bytes) => new Promise((resolve, reject) => {
      const s = net.connect(srv.tlsPort, '127.0.0.1', () => { if (bytes) s.write(bytes); });
      let got = '';
      s.on('data', (d) => { got += d.toString('latin1'); });
      s.on('close', () => resolve(got));
      s.on('error', () => {});
      setTimeout(() => { s.destroy(); reject(new Error('not closed')); }, 10000);
    });
    const plain = await closedAfter('GET /health HTTP/1.1\r\nHost: x\r\n\r\n');
    assert.doesNotMatch(plain, /HTTP\/1\.1 200/, 'no answer in plain text');
    await closedAfter(Buffer.alloc(4096, 0x16));
    await closedAfter(''); // the handshake never starts: closed by --head-timeout
    const health = await curl([`https://localhost:${srv.tlsPort}/health`]);
    assert.equal(health.code, 0);
    assert.equal(await command(srv.respPort, 'PING'), 'PONG');
    assert.match(srv.output(), /listening/); // still the same process
    assert.equal(srv.exited, false);
  });

  test('testssl.sh: nothing of severity MEDIUM or worse', { timeout: 300000 }, async (t) => {
    if (!has('testssl')) return t.skip('no testssl.sh');
    if (process.env.JL_VALGRIND || process.env.JL_SANITIZED) return t.skip('the plain build runs it (hundreds of handshakes)');
    const json = path.join(dir, 'testssl.json');
    const r = await run('testssl', ['--quiet', '--color', '0', '--warnings', 'off', '--ip', 'one', '--fast',
      '--jsonfile', json, '-p', '-S', '-P', '-U', `127.0.0.1:${srv.tlsPort}`], { timeout: 280000 });
    assert.ok(existsSync(json), `testssl.sh wrote no report: ${r.err}\n${r.out.slice(-2000)}`);
    const findings = JSON.parse(readFileSync(json, 'utf8'));
    const bad = findings.filter((f) => ['MEDIUM', 'HIGH', 'CRITICAL'].includes(f.severity)
      // The test CA is not a public one and its certificates live 2 days:
      // trust, chain and expiry findings are about them, not the server.
      && !/^(cert_expirationStatus|cert_notAfter|cert_chain_of_trust|cert_trust|cert_caIssuers|cert_crlDistributionPoints|cert_ocspURL|OCSP_stapling|cert_revocation)/.test(f.id));
    assert.deepEqual(bad.map((f) => `${f.id}: ${f.finding}`), []);
    process.stdout.write(`# testssl.sh: ${findings.length} findings, none MEDIUM or worse\n`);
  });
});

test('SIGHUP reloads the certificate: new handshakes get it, an open stream goes on', T, async () => {
  const rot = path.join(dir, 'rotating');
  const first = makeCerts(rot, { serial: 5000 });
  const [tlsPort] = [await freePort()];
  const srv = await startJugglite({ args: ['--tls-port', String(tlsPort), '--tls-cert-file', first.cert, '--tls-key-file', first.key],
    ready: [/RESP listening on (\S+):(\d+)/, /SSE listening on (\S+):(\d+)/, /SSE\/TLS listening/] });
  try {
    assert.equal(await servedSerial(tlsPort), 5000);
    const stream = run('curl', ['-sS', '-N', '--max-time', '4', '--cacert', first.ca, `https://localhost:${tlsPort}/stream?channel=rot`]);
    const c = await RawClient.connect(srv.respPort);
    try {
      await until(async () => Number(decodeAll(await c.call(['PUBSUB', 'NUMSUB', 'rot']))[0][1]) === 1, 'subscribed');
      makeCerts(rot, { serial: 6000 }); // the same paths, a new certificate
      process.kill(srv.proc.pid, 'SIGHUP');
      await until(() => /SIGHUP: TLS certificate reloaded/.test(srv.output()), 'the reload logged');
      assert.equal(await servedSerial(tlsPort), 6000);
      assert.equal(decodeAll(await c.call(['PUBLISH', 'rot', 'after the reload']))[0], 1, 'the old connection is still there');
    } finally { c.close(); }
    assert.match((await stream).out, /data: after the reload/);
  } finally { await srv.stop(); }
});

describe('the bridge over rediss://', () => {
  test('verified with --upstream-ca (and a client certificate Redis asks for); refused without the CA', T, async () => {
    const redisTls = await freePort();
    const redis = await startRedis({ args: ['--port', '0', '--tls-port', String(redisTls), '--tls-cert-file', certs.cert,
      '--tls-key-file', certs.key, '--tls-ca-cert-file', certs.ca, '--tls-auth-clients', 'yes'] });
    const upstream = `rediss://localhost:${redisTls}`;
    const nodes = [];
    try {
      for (let i = 0; i < 2; i++) {
        nodes.push(await startJugglite({ args: ['--upstream', upstream, '--upstream-ca', certs.ca,
          '--upstream-cert', certs.clientCert, '--upstream-key', certs.clientKey] }));
      }
      for (const n of nodes) {
        await until(async () => /upstream_state:up/.test(String(await command(n.respPort, 'INFO', 'upstream'))),
          'the link up over TLS');
      }
      const stream = run('curl', ['-sS', '-N', '--max-time', '4', `http://127.0.0.1:${nodes[1].ssePort}/stream?channel=x`]);
      await until(async () => Number((await command(nodes[1].respPort, 'PUBSUB', 'NUMSUB', 'x'))[1]) === 1, 'subscribed on B');
      // Redis counts B's subscription once B's SUBSCRIBE has reached it.
      await until(async () => Number(await command(nodes[0].respPort, 'PUBLISH', 'x', 'from A, through Redis over TLS')) >= 1,
        'a publish on A that Redis delivers');
      assert.match((await stream).out, /data: from A, through Redis over TLS/);

      const noCa = await startJugglite({ args: ['--upstream', upstream, '--log-level', 'info'] });
      nodes.push(noCa);
      await until(() => /certificate verify failed/.test(noCa.output()), 'the refusal logged');
      const info = String(await command(noCa.respPort, 'INFO', 'upstream'));
      assert.doesNotMatch(info, /upstream_state:up/);

      const noCert = await startJugglite({ args: ['--upstream', upstream, '--upstream-ca', certs.ca, '--log-level', 'debug'] });
      nodes.push(noCert);
      await sleep(500);
      const info2 = String(await command(noCert.respPort, 'INFO', 'upstream'));
      assert.doesNotMatch(info2, /upstream_state:up/, 'Redis wants a client certificate');
    } finally {
      for (const n of nodes) await n.stop();
      await redis.stop();
    }
  });
});
