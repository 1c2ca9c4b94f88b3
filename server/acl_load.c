/* acl_load.c -- the starting ACL users from options and files (see acl_load.h).
 *
 * An aclfile is Redis's: one "user NAME rules..." line each, blank lines
 * ignored, anything else an error that stops the start (as Redis refuses
 * to start on a bad aclfile), reported with the file and line. As in
 * Redis, a line describes its user from scratch ("off resetchannels
 * -@all" first, "default" included), a user given twice is an error, and
 * users come from an aclfile or from --user, not both. */
#include "server/acl_load.h"
#include "server/util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void chomp(char *line)
{
    size_t n = strlen(line);
    while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        line[--n] = '\0';
}

static int read_first_line(const char *path, char *out, size_t len)
{
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        fprintf(stderr, "jugglite: --requirepass-file %s: %s\n", path, strerror(errno));
        return -1;
    }
    if (fgets(out, (int)len, f) == NULL)
        out[0] = '\0';
    fclose(f);
    chomp(out);
    return 0;
}

static int default_password(jl_acl_t *acl, const jl_config_t *cfg)
{
    if (cfg->requirepass_file == NULL) {
        if (cfg->requirepass)
            jl_acl_requirepass(acl, cfg->requirepass);
        return 0;
    }
    char pass[4096];
    if (read_first_line(cfg->requirepass_file, pass, sizeof pass) < 0)
        return -1;
    jl_acl_requirepass(acl, pass);
    return 0;
}

static int blank(const char *s)
{
    return s[strspn(s, " \t")] == '\0';
}

/* One user line (without "user "), from scratch; -1 with err set. */
static int user_line(jl_acl_t *acl, const char *line, int *default_seen, char *err, size_t errlen)
{
    size_t skip = strspn(line, " \t");
    size_t nlen = strcspn(line + skip, " \t");
    int is_default = nlen == 7 && memcmp(line + skip, "default", 7) == 0;
    if ((is_default && *default_seen) || (!is_default && jl_acl_find(acl, line + skip, nlen))) {
        snprintf(err, errlen, "Duplicate user '%.*s' found", (int)(nlen < 128 ? nlen : 128), line + skip);
        return -1;
    }
    if (is_default) {
        static const char blank[] = "default off resetpass resetkeys resetchannels nocommands";
        jl_acl_line(acl, blank, err, errlen);
        *default_seen = 1;
    }
    return jl_acl_line(acl, line, err, errlen);
}

static int load_file(jl_acl_t *acl, const char *path)
{
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        fprintf(stderr, "jugglite: --aclfile %s: %s\n", path, strerror(errno));
        return -1;
    }
    char line[16384], err[512];
    int rc = 0, default_seen = 0;
    for (unsigned n = 1; rc == 0 && fgets(line, sizeof line, f); n++) {
        chomp(line);
        if (blank(line))
            continue;
        if (strncmp(line, "user ", 5) != 0) {
            fprintf(stderr, "jugglite: %s:%u: line should start with user keyword\n", path, n);
            rc = -1;
        } else if (user_line(acl, line + 5, &default_seen, err, sizeof err) < 0) {
            fprintf(stderr, "jugglite: %s:%u: %s\n", path, n, err);
            rc = -1;
        }
    }
    fclose(f);
    return rc;
}

int jl_acl_load(jl_acl_t *acl, const jl_config_t *cfg, jl_acl_known_fn known)
{
    jl_acl_init(acl, known);
    if (default_password(acl, cfg) < 0)
        return -1;
    if (cfg->aclfile && cfg->n_users) {
        fprintf(stderr, "jugglite: --aclfile and --user cannot both be given (as Redis's "
                        "aclfile and user directives): define the users in one place\n");
        return -1;
    }
    if (cfg->aclfile && load_file(acl, cfg->aclfile) < 0)
        return -1;
    char err[512];
    int default_seen = 0;
    for (size_t i = 0; i < cfg->n_users; i++)
        if (user_line(acl, cfg->users[i], &default_seen, err, sizeof err) < 0) {
            /* The line may hold a password: only its user name is shown. */
            int name = (int)strcspn(cfg->users[i], " \t");
            fprintf(stderr, "jugglite: --user %.*s: %s\n", name, cfg->users[i], err);
            return -1;
        }
    return 0;
}
