# page_embed.cmake -- turns http/page.html into a C source, at build time.
#
#   cmake -DIN=http/page.html -DOUT=<build>/generated/page_html.c -P page_embed.cmake
#
# The page is edited as a real HTML file; the server serves it from its own
# binary (no file to find at run time). page.html holds the marker
# @JL_CONFIG@ exactly once, where page.c inserts the configured paths; this
# script splits the page there into jl_page_head[] and jl_page_tail[], so a
# page without the marker (or with two) fails the build, not the server.
# CMake itself does the conversion (file(READ ... HEX)), so the build needs
# no xxd or similar tool.
set(marker "@JL_CONFIG@")
string(LENGTH "${marker}" marker_len)

file(READ "${IN}" text)
string(FIND "${text}" "${marker}" at)
string(FIND "${text}" "${marker}" last REVERSE)
if(at EQUAL -1 OR NOT at EQUAL last)
  message(FATAL_ERROR "${IN}: the marker ${marker} must occur exactly once")
endif()
math(EXPR tail_at "${at} + ${marker_len}")

# Bytes [offset, offset + limit) of IN as a C initializer, 16 bytes a line.
function(c_bytes out offset limit)
  if(limit EQUAL 0)
    set(${out} "" PARENT_SCOPE)
    return()
  endif()
  file(READ "${IN}" hex OFFSET ${offset} LIMIT ${limit} HEX)
  string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," hex "${hex}")
  string(REPEAT "0x..," 16 line)   # CMake regexes have no {n}
  string(REGEX REPLACE "(${line})" "\\1\n    " hex "${hex}")
  set(${out} "    ${hex}" PARENT_SCOPE)
endfunction()

file(SIZE "${IN}" size)
math(EXPR tail_len "${size} - ${tail_at}")
c_bytes(head 0 ${at})
c_bytes(tail ${tail_at} ${tail_len})

# A trailing 0 keeps an empty part a valid array (and ends each part like a
# string); the lengths leave it out.
file(WRITE "${OUT}"
"/* Generated from http/page.html by http/page_embed.cmake; do not edit. */
#include <stddef.h>

extern const unsigned char jl_page_head[], jl_page_tail[];
extern const size_t jl_page_head_len, jl_page_tail_len;

const unsigned char jl_page_head[] = {
${head}0
};
const size_t jl_page_head_len = ${at};

const unsigned char jl_page_tail[] = {
${tail}0
};
const size_t jl_page_tail_len = ${tail_len};
")
