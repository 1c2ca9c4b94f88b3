// nginx.mjs -- a foreground nginx on loopback for the tests that put one in
// front of jugglite: its whole configuration around the test's own
// server{} (and upstream{}) blocks, with every path under the test's temp dir.
import { mkdirSync } from 'node:fs';
import path from 'node:path';

/** nginx.conf text for `httpBlocks` (upstream/server blocks), everything kept in `dir`
 *  (whose temp subdirectories are created). `errorLog`: nginx's level on stderr. */
export function nginxConfig(httpBlocks, dir, { errorLog = 'warn' } = {}) {
  for (const d of ['body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) mkdirSync(path.join(dir, d), { recursive: true });
  return `daemon off;
master_process off;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log stderr ${errorLog};
events { worker_connections 256; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
${httpBlocks}
}
`;
}
