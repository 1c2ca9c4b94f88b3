/* page.c -- the built-in page (see page.h).
 *
 * The page itself is http/page.html, a plain HTML file with one marker,
 * @JL_CONFIG@, inside a <script type="application/json"> block; the build
 * embeds it split at the marker, and rendering puts a JSON object with the
 * configured paths where the marker was. Strings are JSON-escaped with
 * '<', '>' and '&' as \u escapes, so no configured path can close the
 * script element.
 *
 * Element ids are a contract with tests/integration/browser.test.mjs and
 * browser_page.test.mjs: #channel, #pattern, #types, #subscribe, #close,
 * #state, #subscribe-result, #registration, #registered, #dropped,
 * #dropped-why, #log, #token, #payload, #publish-channel, #publish,
 * #publish-result, #publish-note, and the live channel list's #channels
 * (a table; each row a <tr data-name data-kind> with cells .subscribers,
 * .rate, .messages), #channels-note, #channels-form, #channels-token.
 * Every event appended to #log is an
 * <li class="event"> with a data-type attribute, and a data-id attribute
 * only when the event carried an id. Event data is inserted with
 * textContent, never as HTML. */
#include "http/page.h"

/* The page's bytes before and after the marker, embedded at build time
 * (see page_embed.cmake; the generated file is in the build directory). */
extern const unsigned char jl_page_head[], jl_page_tail[];
extern const size_t jl_page_head_len, jl_page_tail_len;

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
    jl_buf_append(out, jl_page_head, jl_page_head_len);
    jl_buf_append_str(out, "{\"stream\":");
    json_string(out, stream_path);
    jl_buf_append_str(out, ",\"publish\":");
    json_string(out, publish_path);
    jl_buf_append_str(out, ",\"health\":\"/health\",\"namespace\":");
    json_string(out, namespace_);
    jl_buf_printf(out, ",\"resp_port\":%d}", resp_port);
    jl_buf_append(out, jl_page_tail, jl_page_tail_len);
}
