/* page.c -- the built-in page (see page.h).
 *
 * The page is a C string with one marker, JL_CONFIG, where a JSON object
 * with the configured paths is inserted inside a <script type=
 * "application/json"> block. Strings are JSON-escaped with '<', '>' and '&'
 * as \u escapes, so no configured path can close the script element.
 *
 * Element ids are a contract with tests/integration/browser.test.mjs:
 * #channel, #types, #subscribe, #close, #state, #log, #token, #payload,
 * #publish, #publish-result, #publish-note. Every event appended to #log is
 * an <li class="event"> with data-type and data-id attributes. Event data is
 * inserted with textContent, never as HTML. */
#include "http/page.h"

#include <stdio.h>
#include <string.h>

static const char page_head[] =
    "<!doctype html>\n"
    "<html lang=\"en\">\n"
    "<head>\n"
    "<meta charset=\"utf-8\">\n"
    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
    "<title>jugglite</title>\n"
    "<style>\n"
    "  :root { color-scheme: light dark; font-family: system-ui, sans-serif; }\n"
    "  body { max-width: 52rem; margin: 1.5rem auto; padding: 0 1rem; line-height: 1.4; }\n"
    "  h1 { font-size: 1.4rem; margin-bottom: .2rem; } h2 { font-size: 1.1rem; }\n"
    "  .sub { color: #777; margin-top: 0; }\n"
    "  form { display: flex; flex-wrap: wrap; gap: .5rem; align-items: center; }\n"
    "  input, textarea, button { font: inherit; padding: .3rem .5rem; }\n"
    "  textarea { width: 100%; min-height: 4rem; font-family: ui-monospace, monospace; }\n"
    "  #state { padding: .1rem .5rem; border-radius: .3rem; background: #8884; }\n"
    "  #state[data-state=open] { background: #2a4; color: #fff; }\n"
    "  #state[data-state=reconnecting], #state[data-state=connecting] { background: #d92; color: #fff; }\n"
    "  #state[data-state=closed] { background: #c33; color: #fff; }\n"
    "  #log { list-style: none; padding: 0; font-family: ui-monospace, monospace; font-size: .9rem; }\n"
    "  #log li { border-bottom: 1px solid #8883; padding: .25rem 0; }\n"
    "  #log .meta { color: #777; margin-right: .6rem; }\n"
    "  #log .type { font-weight: bold; margin-right: .6rem; }\n"
    "  #log pre { margin: .2rem 0 0; white-space: pre-wrap; word-break: break-all; }\n"
    "  #log li.note { color: #777; font-style: italic; }\n"
    "  code { background: #8882; padding: 0 .2rem; }\n"
    "</style>\n"
    "</head>\n"
    "<body>\n"
    "<h1>jugglite</h1>\n"
    "<p class=\"sub\">Messages published with the Redis protocol, pushed to this page with "
    "Server-Sent Events.</p>\n"
    "\n"
    "<h2>Subscribe</h2>\n"
    "<form id=\"subscribe-form\">\n"
    "  <label>Channel <input id=\"channel\" placeholder=\"news or a,b\" autocomplete=\"off\"></label>\n"
    "  <label>Event types <input id=\"types\" placeholder=\"update, alert\" autocomplete=\"off\"></label>\n"
    "  <button id=\"subscribe\" type=\"submit\">Subscribe</button>\n"
    "  <button id=\"close\" type=\"button\" disabled>Close</button>\n"
    "  <span>State: <span id=\"state\" data-state=\"idle\">idle</span></span>\n"
    "</form>\n"
    "<p class=\"sub\" id=\"hint\"></p>\n"
    "\n"
    "<h2>Publish</h2>\n"
    "<p class=\"sub\" id=\"publish-note\">Checking whether HTTP publishing is enabled&hellip;</p>\n"
    "<form id=\"publish-form\">\n"
    "  <textarea id=\"payload\" placeholder='hello, or {\"event\":\"update\",\"id\":\"1\",\"text\":\"hi\"}'></textarea>\n"
    "  <label>Token <input id=\"token\" type=\"password\" autocomplete=\"off\" disabled></label>\n"
    "  <button id=\"publish\" type=\"submit\" disabled>Publish</button>\n"
    "  <span id=\"publish-result\"></span>\n"
    "</form>\n"
    "\n"
    "<h2>Events</h2>\n"
    "<ol id=\"log\"></ol>\n"
    "\n"
    "<script type=\"application/json\" id=\"jl-config\">";

static const char page_tail[] =
    "</script>\n"
    "<script>\n"
    "(function () {\n"
    "  'use strict';\n"
    "  var cfg = JSON.parse(document.getElementById('jl-config').textContent);\n"
    "  var $ = function (id) { return document.getElementById(id); };\n"
    "  var es = null;\n"
    "  var MAX_LOG = 500;\n"
    "\n"
    "  function setState(s) { $('state').textContent = s; $('state').dataset.state = s; }\n"
    "\n"
    "  function append(li) {\n"
    "    var log = $('log');\n"
    "    log.appendChild(li);\n"
    "    while (log.children.length > MAX_LOG) log.removeChild(log.firstChild);\n"
    "  }\n"
    "\n"
    "  function span(cls, text) {\n"
    "    var s = document.createElement('span');\n"
    "    s.className = cls;\n"
    "    s.textContent = text;\n"
    "    return s;\n"
    "  }\n"
    "\n"
    "  function note(text) {\n"
    "    var li = document.createElement('li');\n"
    "    li.className = 'note';\n"
    "    li.textContent = text;\n"
    "    append(li);\n"
    "  }\n"
    "\n"
    "  function onEvent(e) {\n"
    "    var li = document.createElement('li');\n"
    "    li.className = 'event';\n"
    "    li.dataset.type = e.type;\n"
    "    li.dataset.id = e.lastEventId;\n"
    "    li.appendChild(span('meta', new Date().toLocaleTimeString()));\n"
    "    li.appendChild(span('type', e.type));\n"
    "    if (e.lastEventId) li.appendChild(span('meta id', 'id: ' + e.lastEventId));\n"
    "    var pre = document.createElement('pre');\n"
    "    pre.className = 'data';\n"
    "    pre.textContent = e.data;\n"
    "    li.appendChild(pre);\n"
    "    append(li);\n"
    "  }\n"
    "\n"
    "  function close() {\n"
    "    if (es) { es.close(); es = null; }\n"
    "    setState('closed');\n"
    "    $('close').disabled = true;\n"
    "  }\n"
    "\n"
    "  function subscribe(ev) {\n"
    "    ev.preventDefault();\n"
    "    if (es) es.close();\n"
    "    var ch = $('channel').value.trim();\n"
    "    var url = cfg.stream + '?channel=' + encodeURIComponent(ch);\n"
    "    var src = new EventSource(url);\n"
    "    es = src;\n"
    "    setState('connecting');\n"
    "    $('close').disabled = false;\n"
    "    src.onopen = function () { if (es === src) setState('open'); };\n"
    "    src.onerror = function () {\n"
    "      if (es === src) setState(src.readyState === EventSource.CLOSED ? 'closed' : 'reconnecting');\n"
    "    };\n"
    "    src.onmessage = onEvent;\n"
    "    $('types').value.split(',').map(function (t) { return t.trim(); })\n"
    "      .filter(function (t) { return t && t !== 'message'; })\n"
    "      .forEach(function (t) { src.addEventListener(t, onEvent); });\n"
    "    note('subscribed: ' + url);\n"
    "    $('hint').textContent = ch ? 'Try: redis-cli ' +\n"
    "      (cfg.resp_port > 0 ? '-p ' + cfg.resp_port + ' ' : '') + 'publish ' +\n"
    "      JSON.stringify(cfg.namespace + ch.split(',')[0]) + ' hello' : '';\n"
    "  }\n"
    "\n"
    "  function publish(ev) {\n"
    "    ev.preventDefault();\n"
    "    var ch = $('channel').value.trim();\n"
    "    var result = $('publish-result');\n"
    "    if (!ch) { result.textContent = 'enter a channel first'; return; }\n"
    "    result.textContent = 'publishing...';\n"
    "    fetch(cfg.publish + '?channel=' + encodeURIComponent(ch), {\n"
    "      method: 'POST',\n"
    "      headers: { 'Authorization': 'Bearer ' + $('token').value,\n"
    "                 'Content-Type': 'text/plain;charset=utf-8' },\n"
    "      body: $('payload').value\n"
    "    }).then(function (r) {\n"
    "      return r.text().then(function (t) {\n"
    "        if (!r.ok) { result.textContent = 'failed: ' + (t.trim() || r.status); return; }\n"
    "        var n = JSON.parse(t).receivers;\n"
    "        result.textContent = 'published to ' + ch + ': ' + n + ' receiver' + (n === 1 ? '' : 's');\n"
    "      });\n"
    "    }).catch(function (e) { result.textContent = 'failed: ' + e.message; });\n"
    "  }\n"
    "\n"
    "  $('subscribe-form').addEventListener('submit', subscribe);\n"
    "  $('close').addEventListener('click', close);\n"
    "  $('publish-form').addEventListener('submit', publish);\n"
    "\n"
    "  fetch(cfg.health, { cache: 'no-store' }).then(function (r) { return r.json(); })\n"
    "    .then(function (h) {\n"
    "      var on = !!h.publish;\n"
    "      $('publish').disabled = !on;\n"
    "      $('token').disabled = !on;\n"
    "      $('publish-note').textContent = on\n"
    "        ? 'POST ' + cfg.publish + '?channel=... with Authorization: Bearer <token>.'\n"
    "        : 'HTTP publishing is off (start jugglite with --publish-token). Publish with any Redis client instead.';\n"
    "    }).catch(function () { $('publish-note').textContent = 'health check failed'; });\n"
    "})();\n"
    "</script>\n"
    "</body>\n"
    "</html>\n";

static void json_string(jl_buf_t *out, const char *s)
{
    jl_buf_append_char(out, '"');
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            jl_buf_printf(out, "\\%c", *p);
        else if (*p < 0x20 || *p == '<' || *p == '>' || *p == '&' || *p == 0x7f)
            jl_buf_printf(out, "\\u%04x", *p);
        else
            jl_buf_append_char(out, (char)*p);
    }
    jl_buf_append_char(out, '"');
}

void jl_page_render(jl_buf_t *out, const char *stream_path, const char *publish_path,
                    const char *namespace_, int resp_port)
{
    jl_buf_append(out, page_head, sizeof page_head - 1);
    jl_buf_append_str(out, "{\"stream\":");
    json_string(out, stream_path);
    jl_buf_append_str(out, ",\"publish\":");
    json_string(out, publish_path);
    jl_buf_append_str(out, ",\"health\":\"/health\",\"namespace\":");
    json_string(out, namespace_);
    jl_buf_printf(out, ",\"resp_port\":%d}", resp_port);
    jl_buf_append(out, page_tail, sizeof page_tail - 1);
}
