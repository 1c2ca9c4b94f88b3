// The introspection commands as Redis 7.0.15 has them (issue 14, item 6),
// differentially: the same bytes to redis-server and jugglite, replies
// compared (exactly for errors and counts; by shape where the values are
// each server's own: CLIENT LIST lines, INFO fields):
//   - INFO with several sections: the sections asked for, in Redis's order;
//   - CLIENT LIST TYPE normal|pubsub|replica and CLIENT LIST ID id...,
//     their errors;
//   - CLIENT KILL TYPE / ADDR / LADDR (with ID, USER, SKIPME), the sockets
//     closed compared too.
import { test, before, after } from 'node:test';
import { startRedis, startJugglite, diff, TARGET } from './lib/harness.mjs';

const TT = { timeout: 60000 };
let ref, sub;
before(async () => {
  [ref, sub] = await Promise.all([
    startRedis(),
    TARGET === 'redis' ? startRedis() : startJugglite({ ssePort: null, args: ['--port', '-1'] }),
  ]);
});
after(async () => { await Promise.all([ref?.stop(), sub?.stop()]); });

const S = (on, ...args) => ({ on, send: args });
const SC = (on, compare, ...args) => ({ on, send: args, compare });
const run = (name, script) => diff(script, { ref: ref.respPort, sub: sub.respPort, name });

/** INFO: the section headers, in order. */
const headers = (r, s) => {
  const h = (b) => b.toString('latin1').split('\r\n').filter((l) => l.startsWith('# ')).join('|');
  return h(r) === h(s) ? undefined : `sections differ: redis ${h(r)} vs ${h(s)}`;
};
/** CLIENT LIST: how many lines, and the same names/flags/sub counts per line. */
const lines = (r, s) => {
  const pick = (b) => b.toString('latin1').split('\n').filter((l) => l.includes('id='))
    .map((l) => ['name', 'flags', 'sub', 'psub', 'ssub', 'cmd'].map((k) => new RegExp(` ${k}=(\\S*)`).exec(l)?.[1]).join(','))
    .sort().join(' | ');
  return pick(r) === pick(s) ? undefined : `CLIENT LIST differs: redis [${pick(r)}] vs [${pick(s)}]`;
};

test('INFO with several sections', TT, async () => {
  await run('info-sections', [
    SC('a', headers, 'INFO', 'clients', 'server'),
    SC('a', headers, 'INFO', 'server'),
    SC('a', headers, 'INFO', 'stats', 'clients', 'nosuch'),
    SC('a', headers, 'INFO', 'nosuch'),
  ]);
});

test('CLIENT LIST TYPE and ID', TT, async () => {
  await run('client-list', [
    S('a', 'CLIENT', 'SETNAME', 'lister'),
    S('p', 'CLIENT', 'SETNAME', 'sub1'), S('p', 'SUBSCRIBE', 'x'),
    S('q', 'CLIENT', 'SETNAME', 'plain'),
    SC('a', lines, 'CLIENT', 'LIST', 'TYPE', 'normal'),
    SC('a', lines, 'CLIENT', 'LIST', 'TYPE', 'pubsub'),
    SC('a', lines, 'CLIENT', 'LIST', 'TYPE', 'PUBSUB'),
    SC('a', lines, 'CLIENT', 'LIST', 'TYPE', 'replica'),
    SC('a', lines, 'CLIENT', 'LIST', 'TYPE', 'master'),
    S('a', 'CLIENT', 'LIST', 'TYPE', 'bogus'),
    S('a', 'CLIENT', 'LIST', 'TYPE'),
    S('a', 'CLIENT', 'LIST', 'TYPE', 'normal', 'extra'),
    SC('a', lines, 'CLIENT', 'LIST', 'ID', '999999'),
    S('a', 'CLIENT', 'LIST', 'ID', '1', 'abc'),
    S('a', 'CLIENT', 'LIST', 'ID', '0'),
    S('a', 'CLIENT', 'LIST', 'ID'),
    S('a', 'CLIENT', 'LIST', 'NOPE', 'x'),
  ]);
});

test('CLIENT KILL TYPE, ADDR, LADDR', TT, async () => {
  await run('client-kill', [
    S('p', 'SUBSCRIBE', 'x'),
    S('q', 'PING'),
    S('a', 'CLIENT', 'KILL', 'TYPE', 'bogus'),
    S('a', 'CLIENT', 'KILL', 'TYPE', 'pubsub'),
    S('q', 'PING'),
    S('a', 'CLIENT', 'KILL', 'ADDR', '1.2.3.4:5'),
    S('a', 'CLIENT', 'KILL', 'LADDR', '1.2.3.4:5'),
    S('a', 'CLIENT', 'KILL', 'TYPE', 'normal', 'SKIPME', 'yes'),
    S('a', 'PING'),
    S('a', 'CLIENT', 'KILL', 'TYPE', 'normal', 'ID', '999999'),
    S('a', 'CLIENT', 'KILL', 'MAXAGE', '5'),
  ]);
});
