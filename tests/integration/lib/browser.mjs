// Headless Chromium (Debian's /usr/bin/chromium) driven by playwright-core,
// for tests of the SSE endpoint as a real browser sees it.
// No browser is downloaded: playwright-core only drives the system binary.
//
//   const browser = await launchChromium();   // throws if no chromium
//   const page = await browser.newPage(); …; await browser.close();
//
// JL_CHROMIUM overrides the executable path. opts.env: extra environment
// (HOME, to give it an NSS database that trusts a test CA: trustCa()).

import { existsSync } from 'node:fs';

export function chromiumPath() {
  return [process.env.JL_CHROMIUM, '/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => p && existsSync(p)) || null;
}

/** An NSS database under home that trusts the CA at caPem, as Chromium on
 *  Linux reads it ($HOME/.pki/nssdb): the browser then verifies the test
 *  server's certificate for real, no --ignore-certificate-errors. */
export async function trustCa(home, caPem) {
  const { execFileSync } = await import('node:child_process');
  const { mkdirSync } = await import('node:fs');
  const db = `${home}/.pki/nssdb`;
  mkdirSync(db, { recursive: true });
  execFileSync('certutil', ['-d', `sql:${db}`, '-N', '--empty-password']);
  execFileSync('certutil', ['-d', `sql:${db}`, '-A', '-n', 'jugglite test CA', '-t', 'C,,', '-i', caPem]);
}

export async function launchChromium(opts = {}) {
  const exe = chromiumPath();
  if (!exe) throw new Error('chromium not found (apt-get install -y chromium, or set JL_CHROMIUM)');
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({
    executablePath: exe,
    headless: true,
    timeout: opts.timeout ?? 30000,
    env: opts.env ? { ...process.env, ...opts.env } : undefined,
    // root in a container: no user namespaces for the sandbox
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', ...(opts.args || [])],
  });
  return browser;
}
