// docs.test.mjs -- keeps docs/configuration.md true: every option that
// `jugglite --help` prints must be documented there, and vice versa.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';

const bin = process.env.JUGGLITE_BIN;
const src = process.env.JL_SOURCE_DIR;

const longOptions = (text) => new Set([...text.matchAll(/--[a-z][a-z-]+/g)].map((m) => m[0]));

test('every --help option is in docs/configuration.md and no stale one is', () => {
  const help = execFileSync(bin, ['--help'], { encoding: 'utf8', timeout: 5000 });
  const doc = readFileSync(path.join(src, 'docs/configuration.md'), 'utf8');
  const inHelp = longOptions(help);
  const inDoc = longOptions(doc);
  assert.ok(inHelp.size > 20, 'help lists the options');
  const undocumented = [...inHelp].filter((o) => !inDoc.has(o));
  assert.deepEqual(undocumented, [], 'options missing from docs/configuration.md');
  const stale = [...inDoc].filter((o) => !inHelp.has(o));
  assert.deepEqual(stale, [], 'documented options jugglite does not have');
});

test('a bad option exits 2 with a message', () => {
  let err;
  try {
    execFileSync(bin, ['--max-conns', 'lots'], { encoding: 'utf8', timeout: 5000, stdio: 'pipe' });
  } catch (e) {
    err = e;
  }
  assert.ok(err, 'exits non-zero');
  assert.equal(err.status, 2);
  assert.match(err.stderr, /invalid value 'lots' for --max-conns/);
});

test('a configuration with no listener is refused before anything starts', () => {
  let err;
  try {
    execFileSync(bin, ['--resp-port', '-1', '--port', '-1'], { encoding: 'utf8', timeout: 5000, stdio: 'pipe' });
  } catch (e) {
    err = e;
  }
  assert.ok(err, 'exits non-zero');
  assert.equal(err.status, 2);
  assert.match(err.stderr, /^jugglite: no listener/);
  assert.doesNotMatch(err.stderr, /ready|listening/);
});

test('getopt\'s own messages name the program as every other message does', () => {
  for (const args of [['--bogus'], ['-x'], ['--port']]) {
    let err;
    try {
      execFileSync(bin, args, { encoding: 'utf8', timeout: 5000, stdio: 'pipe' });
    } catch (e) {
      err = e;
    }
    assert.equal(err?.status, 2, args.join(' '));
    assert.match(err.stderr, /^jugglite: /, `${args.join(' ')}: ${err.stderr}`);
  }
});

// docs/commands.md lists exactly the commands the binary answers (COMMAND
// LIST), each subcommand COMMAND DOCS knows, and none of the commands it
// says are left out.
test('docs/commands.md: every command and subcommand, and no more', { timeout: 30000 }, async () => {
  const { startJugglite, RawClient, decodeAll, cleanupAll } = await import('./lib/harness.mjs');
  const doc = readFileSync(path.join(src, 'docs/commands.md'), 'utf8');
  const [answered, leftOut] = doc.split('## Left out on purpose');
  const named = new Set([...answered.matchAll(/`([A-Z][A-Z-]+)`/g)].map((m) => m[1]));
  const srv = await startJugglite({ ssePort: null });
  try {
    const c = await RawClient.connect(srv.respPort);
    const list = decodeAll(await c.call(['COMMAND', 'LIST']))[0].map(String);
    const docs = decodeAll(await c.call(['COMMAND', 'DOCS']))[0];
    c.close();
    const cmds = list.map((x) => x.toUpperCase());
    assert.deepEqual(cmds.filter((x) => !named.has(x)), [], 'commands missing from docs/commands.md');
    const subs = [];
    const walk = (v) => { if (Array.isArray(v)) v.forEach(walk); else if (/^[a-z]+\|[a-z-]+$/.test(String(v))) subs.push(String(v)); };
    walk(docs);
    assert.ok(subs.length > 20, 'COMMAND DOCS names the subcommands');
    const missing = subs.map((x) => x.split('|')[1].toUpperCase()).filter((x) => !named.has(x));
    assert.deepEqual(missing, [], 'subcommands missing from docs/commands.md');
    const leftNamed = [...leftOut.matchAll(/`([A-Z]+)`/g)].map((m) => m[1]);
    assert.deepEqual(leftNamed.filter((x) => cmds.includes(x)), [], 'a command said to be left out is answered');
  } finally {
    await srv.stop();
    await cleanupAll();
  }
});
