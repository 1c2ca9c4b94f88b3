/* json_text.c -- client bytes as a JSON string (see json_text.h). */
#include "http/json_text.h"
#include "server/util.h"

#include <stdlib.h>

json_t *jl_json_text(const char *text, size_t len)
{
    json_t *v = json_stringn(text, len);
    if (v != NULL)
        return v;
    char *ascii = jl_malloc(len + 1);
    for (size_t i = 0; i < len; i++)
        ascii[i] = (text[i] >= 0x20 && text[i] < 0x7f) ? text[i] : '?';
    v = json_stringn(ascii, len);
    free(ascii);
    return v;
}
