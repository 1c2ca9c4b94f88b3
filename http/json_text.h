/* json_text.h -- client bytes as a JSON string, whatever they are.
 *
 * Channel names, ids and tokens come from clients and need not be UTF-8,
 * which is all jansson encodes. Where the server echoes them back in JSON
 * (a gap event, the live channel list) they go as sent when they are
 * UTF-8, else with every byte outside printable ASCII as '?': never
 * dropped, never invalid JSON. */
#ifndef JL_JSON_TEXT_H
#define JL_JSON_TEXT_H

#include <jansson.h>
#include <stddef.h>

/* A new JSON string for text[0..len) (the caller owns the reference). */
json_t *jl_json_text(const char *text, size_t len);

#endif
