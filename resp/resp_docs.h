/* resp_docs.h -- what COMMAND DOCS says about each command.
 *
 * Documentation is not behaviour: the command table (resp_commands.c) says
 * what a command does and when it may run; this table only holds the text
 * redis-cli shows for it, keyed by the full name ("client|kill"). */
#ifndef JL_RESP_DOCS_H
#define JL_RESP_DOCS_H

typedef struct jl_resp_doc {
    const char *name;       /* "publish", "client|kill" */
    const char *summary;
    const char *since;
    const char *group;
} jl_resp_doc_t;

/* The entry for a full command name, or NULL. */
const jl_resp_doc_t *jl_resp_doc(const char *name);

#endif
