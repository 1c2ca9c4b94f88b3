// docs_examples.test.mjs -- the examples of README.md and docs/, run as they
// are written, read out of the documents themselves so that a document that
// drifts from what works fails here:
//
//   - the README's 30-second block, line by line against the real binary, the
//     redis-cli lines in a pseudo-terminal (util-linux `script`) so that they
//     print what a reader sees, `(integer) 1`; only the ports change, and
//     `make run` becomes the command the Makefile runs;
//   - the README's browser snippet in headless Chromium, fed the README's own
//     publishes (plain text and JSON): both logged, no page error;
//   - `make run` (the Makefile itself, on a stub project): quiet until the
//     program speaks, the build log shown when the build fails;
//   - the migration guide's one line for keeping the app's Redis, its option
//     table against `jugglite --help`, and the README quick start leading to it;
//   - the systemd units' ExecStart lines, and deployment.md's excerpt of the
//     packaged unit against packaging/jugglite.service.in;
//   - every relative link and #anchor in the Markdown, every *.md file named;
//   - every script under docs/examples/ is run by some test
//     (run-cluster.sh: bridge_example.test.mjs).
//
// Everything binds 127.0.0.1 on free ports.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  startJugglite, startRedis, freePort, jugglitePath, spawnTracked, waitExit, sleep, withTimeout,
  RawClient, decodeAll, SseClient, httpRequest, SOURCE_DIR,
} from './lib/harness.mjs';
import { launchChromium, chromiumPath } from './lib/browser.mjs';
import { section, codeBlocks, commandLines, stripComment, links, anchors } from './lib/markdown.mjs';

const read = (rel) => readFileSync(path.join(SOURCE_DIR, rel), 'utf8');
const README = read('README.md');
const shq = (s) => `'${s.replace(/'/g, "'\\''")}'`;
const lines = (text) => text.replace(/\r/g, '').split('\n').map((l) => l.trimEnd());

/** The command `make run` runs, from the Makefile: `<binary> $(ARGS)`. */
function makeRunBinary() {
  const m = read('Makefile').match(/^run:.*\n\t@?exec (\S+) \$\(ARGS\)$/m);
  assert.ok(m, 'the Makefile\'s run target execs a binary with $(ARGS)');
  return m[1];
}

async function numsub(port, chan) {
  const c = await RawClient.connect(port);
  try { return decodeAll(await c.call(['PUBSUB', 'NUMSUB', chan]))[0][1]; } finally { c.close(); }
}

async function waitFor(what, pred, ms = 10000) {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await pred().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`timeout waiting for ${what}`);
    await sleep(25);
  }
}

/** Wait until `line` is one of the lines proc has printed. */
function waitLine(proc, line, ms = 10000) {
  return proc.waitStdout((out) => lines(out).includes(line), ms);
}

// ---------------------------------------------------------------- README: 30 seconds

// The block as steps: each line's commands (`a & b`: a in the background) and
// the output the comment lines under it promise ("# curl prints: x" is the
// last curl's output, any other "# x" the line's own).
function thirtySecondSteps() {
  const block = codeBlocks(section(README, '## A 30-second example'), 'sh')[0];
  assert.ok(block, 'the README has a 30-second block');
  const steps = [];
  for (const raw of block.split('\n')) {
    if (!raw.trim()) continue;
    const comment = raw.match(/^#\s?(.*)$/);
    if (comment) {
      const who = comment[1].match(/^(\S+) prints:\s*(.*)$/);
      assert.ok(steps.length, `an expected output before any command: ${raw}`);
      steps.at(-1).expect.push(who ? { tool: who[1], line: who[2] } : { line: comment[1] });
      continue;
    }
    const line = stripComment(raw);
    const parts = line.split(/\s+&(?![&>])\s*/);
    const cmds = parts.map((cmd, i) => ({ cmd: cmd.trim(), background: i < parts.length - 1 })).filter((c) => c.cmd);
    steps.push({ line, cmds, expect: [] });
  }
  return steps;
}

test('README: the 30-second example, as written', { timeout: 90000 }, async () => {
  const steps = thirtySecondSteps();
  const sse = await freePort();
  const resp = await freePort();
  makeRunBinary();
  // `make run` is `exec build/release/jugglite $(ARGS)`; the test runs the
  // binary under test, on loopback, on free ports.
  const subst = (cmd) => cmd
    .replace(/^make run\b/, `${shq(jugglitePath())} --address 127.0.0.1 --port ${sse} --resp-port ${resp}`)
    .replace(/\b3000\b/g, String(sse)).replace(/\b6380\b/g, String(resp));

  // What the block must show; if the README drops one, this test says so.
  const promised = steps.flatMap((s) => s.expect.map((e) => e.line));
  for (const p of [': registered to channels: news', '(integer) 1', 'data: hello, browser']) {
    assert.ok(promised.includes(p), `the block shows ${p}`);
  }
  assert.match(steps[0].line, /^make run\b/, 'the block starts the server');
  assert.ok(steps[0].cmds.length === 1 && steps[0].cmds[0].background, 'in the background');
  assert.ok(steps[1].cmds.every((c) => !c.background), 'then waits for it in the foreground');
  assert.ok(steps.some((s) => /redis-cli .*\bsubscribe news/.test(s.line)), 'and subscribes with redis-cli');

  const procs = [];   // {cmd, proc}, in start order
  const start = (cmd, background) => {
    const c = subst(cmd);
    // Background commands run as themselves (exec), to be stopped at the end;
    // foreground ones in a pseudo-terminal, as a reader's shell runs them.
    const proc = background
      ? spawnTracked('bash', ['-c', `exec ${c}`])
      : spawnTracked('script', ['-qfec', c, '/dev/null'], { env: { ...process.env, SHELL: '/bin/bash' } });
    procs.push({ cmd, proc });
    return proc;
  };
  const lastOf = (tool) => [...procs].reverse().find((p) => p.cmd.startsWith(`${tool} `))?.proc;

  // The wait for readiness is started before the server: it must wait, and
  // finish once the server is up.
  const [server, wait, ...rest] = steps;
  const waiting = start(wait.cmds[0].cmd, false);
  assert.equal(await waitExit(waiting, 1500), false, `'${wait.line}' waits while nothing listens`);
  const srv = start(server.cmds[0].cmd, true);
  const waited = await waiting.waitExit(60000);
  assert.equal(waited.code, 0, `'${wait.line}' ends once the server is ready: ${waited.out}`);

  for (const [i, step] of rest.entries()) {
    const last = i === rest.length - 1;
    let fg = null;
    const mine = step.cmds.map(({ cmd, background }) => {
      const p = start(cmd, background);
      if (!background) fg = p;
      return p;
    });
    // Every command but the last (redis-cli subscribe, until Ctrl-C) ends, with 0.
    if (fg && !last) {
      const r = await fg.waitExit(30000);
      assert.equal(r.code, 0, `'${step.line}' exits 0; printed ${JSON.stringify(r.out)}`);
    }
    for (const e of step.expect) {
      // "# x": printed by one of this line's commands; "# curl prints: x": by the last curl.
      const who = e.tool ? [lastOf(e.tool)] : mine;
      assert.ok(who[0], `a ${e.tool} for '${e.tool} prints: ${e.line}'`);
      await Promise.any(who.map((p) => waitLine(p, e.line)))
        .catch(() => { throw new Error(`after '${step.line}': no line '${e.line}' in ${JSON.stringify(who.map((p) => p.out()))}`); });
    }
  }

  // Beyond the block: the curl stream and the redis-cli subscriber both get
  // the next message, as a Redis subscriber would.
  const c = await RawClient.connect(resp);
  assert.equal(decodeAll(await c.call(['PUBLISH', 'news', 'and again']))[0], 2, 'curl and redis-cli');
  c.close();
  await waitLine(lastOf('curl'), 'data: and again');
  await waitLine(lastOf('redis-cli'), '3) "and again"');

  for (const { proc } of [...procs].reverse()) if (proc !== srv) await proc.stop();
  const r = await srv.stop(10000);
  assert.equal(r.code, 0, 'the server shuts down cleanly');
});

// ---------------------------------------------------------------- README: browser

test('README: the browser snippet logs plain text and JSON without a page error', {
  timeout: 90000, skip: chromiumPath() ? false : 'chromium not installed (apt-get install -y chromium)',
}, async () => {
  const part = section(README, '## Use it from a browser');
  const snippet = codeBlocks(part, 'js')[0];
  const publishes = commandLines(codeBlocks(part, 'sh')[0] || '');
  assert.ok(snippet, 'the README has a browser snippet');
  const sent = publishes.map((l) => {
    const m = l.match(/^redis-cli -p 6380 publish (\S+) '([^']*)'$/);
    assert.ok(m, `a publish line: ${l}`);
    return { line: l, channel: m[1], payload: m[2] };
  });
  const json = (s) => { try { return JSON.parse(s); } catch { return undefined; } };
  assert.ok(sent.some((s) => json(s.payload) === undefined), 'a plain-text payload');
  assert.ok(sent.some((s) => json(s.payload) !== undefined), 'a JSON payload');
  // What the snippet logs for each: an object with an "event" member arrives
  // as that event, with its id; anything else as a message, JSON parsed.
  const expected = sent.map(({ payload }) => {
    const v = json(payload);
    if (v && typeof v === 'object' && typeof v.event === 'string') return [v.event, String(v.id ?? ''), v];
    return ['message', v === undefined ? payload : v];
  });

  const srv = await startJugglite();
  const browser = await withTimeout(launchChromium(), 40000, 'launch chromium');
  after(() => withTimeout(browser.close(), 10000, 'close chromium').catch(() => {}));
  const page = await browser.newPage();
  const errors = [];
  const logged = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => { if (m.type() === 'log') logged.push(Promise.all(m.args().map((a) => a.jsonValue()))); });
  // The snippet in a page of the stream's origin, as the README says.
  const url = `http://127.0.0.1:${srv.ssePort}/readme-snippet.html`;
  await page.route(url, (route) => route.fulfill({
    contentType: 'text/html; charset=utf-8',
    body: `<!doctype html><meta charset="utf-8"><title>README snippet</title><script>\n${snippet}\n</script>`,
  }));
  await page.goto(url);
  const channels = snippet.match(/[?&]channel=([^'"&]+)/)[1].split(',');
  for (const ch of channels) await waitFor(`the page subscribed to ${ch}`, async () => (await numsub(srv.respPort, ch)) === 1);

  for (const s of sent) {
    const out = execFileSync('bash', ['-c', s.line.replace(/\b6380\b/, String(srv.respPort))], { encoding: 'utf8', timeout: 10000 });
    assert.equal(out.trim(), '1', `${s.line} reaches the page`);
  }
  // One console line per publish, or a page error in its place.
  await waitFor(`${sent.length} console lines`, async () => logged.length + errors.length >= sent.length);
  await sleep(200);   // nothing more arrives
  assert.deepEqual(errors, [], 'no page error');
  assert.deepEqual(await Promise.all(logged), expected);
  await page.close();
  await srv.stop();
});

// ---------------------------------------------------------------- make run

test('make run: quiet until the program speaks; a failing build shows its log', { timeout: 120000 }, async () => {
  // The real Makefile on a stub project: a "jugglite" that prints its
  // arguments, and a deps.sh that only notes it was called.
  const dir = mkdtempSync(path.join(os.tmpdir(), 'jl-make-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  copyFileSync(path.join(SOURCE_DIR, 'Makefile'), path.join(dir, 'Makefile'));
  mkdirSync(path.join(dir, 'scripts'));
  writeFileSync(path.join(dir, 'scripts', 'deps.sh'), '#!/bin/sh\necho "$@" > deps-called\n');
  chmodSync(path.join(dir, 'scripts', 'deps.sh'), 0o755);
  writeFileSync(path.join(dir, 'CMakeLists.txt'), 'cmake_minimum_required(VERSION 3.13)\nproject(stub C)\nadd_executable(jugglite main.c)\n');
  const main = path.join(dir, 'main.c');
  writeFileSync(main, '#include <stdio.h>\nint main(int argc, char **argv) {\n  for (int i = 1; i < argc; i++) printf("arg %s\\n", argv[i]);\n  return 0;\n}\n');
  // As a reader's shell runs it: no make of ours around it.
  const env = { ...process.env };
  for (const k of ['MAKEFLAGS', 'MFLAGS', 'MAKELEVEL', 'MAKEOVERRIDES']) delete env[k];
  const make = async (...args) => spawnTracked('make', args, { cwd: dir, env }).waitExit(110000);

  const ok = await make('run', `ARGS=--port 1 'two words'`);
  assert.equal(ok.code, 0, ok.out + ok.err);
  assert.equal(readFileSync(path.join(dir, 'deps-called'), 'utf8').trim(), 'run', 'deps.sh run is called');
  const said = lines(ok.out + ok.err).filter((l) => l && !l.startsWith('arg '));
  assert.ok(said.length <= 1 && said.every((l) => l.includes('build/build.log')),
    `nothing but one line naming the log before the program's output; got:\n${said.join('\n')}`);
  assert.deepEqual(lines(ok.out).filter((l) => l.startsWith('arg ')), ['arg --port', 'arg 1', 'arg two words'],
    'the program gets ARGS');
  assert.match(readFileSync(path.join(dir, 'build', 'build.log'), 'utf8'), /Built target jugglite/, 'the build output is in the log');

  writeFileSync(main, 'int main(void) { return not_declared; }\n');
  const bad = await make('run');
  assert.notEqual(bad.code, 0, 'a failing build fails make run');
  assert.match(bad.err, /not_declared/, 'the compiler error is shown');
  assert.match(bad.err, /build\/build\.log/, 'and where the log is');
  assert.doesNotMatch(bad.out, /^arg /m, 'nothing runs');
});

// ---------------------------------------------------------------- coming from the gem

const MIGRATING = 'docs/migrating-from-ruby-jugglite.md';

test('the migration guide: keeping the app\'s Redis works as written', { timeout: 60000 }, async () => {
  const guide = read(MIGRATING);
  const block = codeBlocks(section(guide, "## First: keep publishing to your app's Redis"), 'sh')[0];
  const [line] = commandLines(block || '');
  assert.match(line || '', /^jugglite --upstream redis:\/\/127\.0\.0\.1:6379$/, 'the one line');
  const redis = await startRedis();
  const args = line.split(/\s+/).slice(1).map((a) => a.replace(/:6379\b/, `:${redis.port}`));
  const jl = await startJugglite({ args });
  const browser = await SseClient.open(jl.ssePort, '/stream?channel=news');
  await browser.waitComments(1, 10000);   // sent once Redis confirmed the subscription
  // The app publishes to its Redis, as it did for the gem.
  const app = await RawClient.connect(redis.port);
  assert.equal(decodeAll(await app.call(['PUBLISH', 'news', 'from the app']))[0], 1);
  app.close();
  assert.equal((await browser.takeEvents(1, 10000))[0].data, 'from the app');
  browser.close();
  await jl.stop();
  await redis.stop();

  // The README's quick start gives the same line, and the way to the guide.
  const quick = section(README, '## Quick start');
  assert.ok(quick.includes(`make run ARGS="${args.join(' ').replace(`:${redis.port}`, ':6379')}"`), 'the quick start has the line');
  assert.ok(links(quick).includes(MIGRATING), `the quick start links ${MIGRATING}`);
});

test('the migration guide: every gem option has a row, every jugglite option exists', () => {
  const guide = read(MIGRATING);
  const rows = section(guide, '## Options, one by one').split('\n').filter((l) => /^\|/.test(l) && !/^\|\s*-/.test(l)).slice(1)
    .map((l) => l.split('|').slice(1, -1).map((c) => c.trim()));
  assert.ok(rows.length > 5, 'an options table');
  const gemColumn = rows.map((r) => r[0]).join('\n');
  for (const opt of ['path', 'namespace', 'keepalive_timeout', 'allowed_channels', 'on_register', 'on_unregister',
    '--address', '--port', '--socket', '--max-conns', 'REDIS_URL']) {
    assert.ok(gemColumn.includes(opt), `a row for the gem's ${opt}`);
  }
  // Every --option the guide names, except the gem's own (the table's first
  // column), is one jugglite has.
  const help = execFileSync(jugglitePath(), ['--help'], { encoding: 'utf8', timeout: 5000 });
  const known = new Set(help.match(/--[a-z][a-z-]+/g));
  let text = guide;
  for (const r of rows) text = text.replace(r[0], '');
  const unknown = [...new Set(text.match(/--[a-z][a-z-]+/g))].filter((o) => !known.has(o));
  assert.deepEqual(unknown, [], 'options jugglite does not have');
});

// ---------------------------------------------------------------- systemd units

function execStart(unit) {
  const m = unit.replace(/\\\n\s*/g, ' ').match(/^ExecStart=(\S+)\s+(.*)$/m);
  assert.ok(m, 'an ExecStart line');
  return { bin: m[1], args: m[2].trim().split(/\s+/) };
}

// The packaged unit as a /usr install configures it (packaging/install.cmake).
const packagedUnit = () => read('packaging/jugglite.service.in').replaceAll('@JL_BIN@', '/usr/bin/jugglite')
  .replaceAll('@JL_CONF@', '/etc/jugglite/jugglite.conf').replaceAll('@JL_ENV@', '/etc/jugglite/jugglite.env');

test('deployment.md quotes the packaged unit as it is', () => {
  const ini = codeBlocks(section(read('docs/deployment.md'), '### systemd'), 'ini')[0];
  const unit = lines(packagedUnit());
  const quoted = lines(ini).filter((l) => l && !l.startsWith('#'));
  assert.ok(quoted.length > 10, 'an excerpt of the unit');
  assert.deepEqual(quoted.filter((l) => !unit.includes(l)), [], 'lines the packaged unit does not have');
});

test('the systemd units start jugglite with their ExecStart options', { timeout: 60000 }, async () => {
  const ini = codeBlocks(section(read('docs/deployment.md'), '### systemd'), 'ini')[0];
  const template = read('docs/examples/jugglite@.service');
  const redis = await startRedis();
  const histDir = mkdtempSync(path.join(os.tmpdir(), 'jl-units-'));
  for (const [name, unit, env] of [
    ['docs/deployment.md', ini, {}],
    ['docs/examples/jugglite@.service', template, { JUGGLITE_UPSTREAM: `redis://127.0.0.1:${redis.port}` }],
  ]) {
    const { bin, args } = execStart(unit);
    assert.equal(path.basename(bin), 'jugglite', `${name} runs jugglite`);
    const sse = await freePort();
    const resp = await freePort();
    // The unit's options with the ports (and the instance %i) replaced; the
    // packaged config file is the one in the tree, its ports and its history
    // file overridden through the environment (flags > environment > file).
    const portEnv = {};
    const sub = args.map((a) => a.replace(/^300%i$/, String(sse)).replace(/^638%i$/, String(resp)).replace(/^3000$/, String(sse))
      .replace(/^\$\{(\w+)\}$/, (_, k) => { assert.ok(env[k], `${name}: ${k} given`); return env[k]; })
      .replace(/^\/etc\/jugglite\/jugglite\.conf$/, () => {
        Object.assign(portEnv, { JUGGLITE_PORT: String(sse), JUGGLITE_RESP_PORT: String(resp),
          JUGGLITE_HISTORY_FILE: path.join(histDir, 'history') });
        return path.join(SOURCE_DIR, 'packaging/jugglite.conf');
      }));
    if (!sub.includes('--resp-port') && !portEnv.JUGGLITE_RESP_PORT) sub.push('--resp-port', String(resp));
    assert.ok(sub.includes(String(sse)) || portEnv.JUGGLITE_PORT, `${name}: its SSE port replaced`);
    const jl = await startJugglite({
      respPort: null, ssePort: null, address: null, respAddress: null, logLevel: null, args: sub, env: portEnv,
      ready: [/ ready \(pid/],
    });
    const health = async () => (await httpRequest(sse, { path: '/health' })).status === 200;
    await waitFor(`${name}: /health answers 200`, health);
    const r = await jl.stop();
    assert.equal(r.code, 0, `${name}: stops cleanly on SIGTERM`);
  }
  await redis.stop();
  rmSync(histDir, { recursive: true, force: true });
});

// ---------------------------------------------------------------- links, files

function markdownFiles() {
  const out = ['README.md'];
  const walk = (rel) => {
    for (const e of readdirSync(path.join(SOURCE_DIR, rel), { withFileTypes: true })) {
      const p = path.join(rel, e.name);
      if (e.isDirectory() && !['node_modules', 'build', '.git'].includes(e.name)) walk(p);
      else if (e.isFile() && p.endsWith('.md') && p !== 'README.md') out.push(p);
    }
  };
  for (const d of ['docs', 'bench', 'tests']) if (existsSync(path.join(SOURCE_DIR, d))) walk(d);
  return out;
}

test('every relative link and #anchor in the Markdown resolves; every *.md named exists', () => {
  const files = markdownFiles();
  const names = new Set(files.map((f) => path.basename(f)));
  const broken = [];
  for (const file of files) {
    const md = read(file);
    for (const target of links(md)) {
      if (/^[a-z]+:/i.test(target)) continue;   // http:, https:, mailto:
      const [rel, anchor] = target.split('#');
      const dest = rel ? path.normalize(path.join(path.dirname(file), rel)) : file;
      if (!existsSync(path.join(SOURCE_DIR, dest))) { broken.push(`${file}: ${target} (no ${dest})`); continue; }
      if (anchor && !anchors(read(dest)).has(anchor)) broken.push(`${file}: ${target} (no heading #${anchor} in ${dest})`);
    }
    for (const m of md.matchAll(/`([\w./-]+\.md)`/g)) {
      if (!names.has(path.basename(m[1]))) broken.push(`${file}: names ${m[1]}, which is not in the repository`);
    }
  }
  assert.deepEqual(broken, []);
});

test('every script under docs/examples/ is run by a test', () => {
  const scripts = readdirSync(path.join(SOURCE_DIR, 'docs', 'examples')).filter((f) => f.endsWith('.sh'));
  assert.ok(scripts.length > 0);
  const dir = path.join(SOURCE_DIR, 'tests', 'integration');
  const tests = readdirSync(dir).filter((f) => f.endsWith('.test.mjs') && f !== path.basename(new URL(import.meta.url).pathname))
    .map((f) => readFileSync(path.join(dir, f), 'utf8'));
  const unrun = scripts.filter((s) => !tests.some((t) => t.includes(s)));
  assert.deepEqual(unrun, [], 'scripts no test runs');
});
