/* resp_docs.c -- the COMMAND DOCS table (see resp_docs.h), copied from what
 * Redis 7.0.15 answers for the same commands. */
#include "resp/resp_docs.h"

#include <string.h>

static const jl_resp_doc_t docs[] = {
    {"pubsub|channels", "Returns the active channels.", "2.8.0", "pubsub"},
    {"pubsub|help", "Returns helpful text about the different subcommands.", "6.2.0", "pubsub"},
    {"pubsub|numpat", "Returns a count of unique pattern subscriptions.", "2.8.0", "pubsub"},
    {"pubsub|numsub", "Returns a count of subscribers to channels.", "2.8.0", "pubsub"},
    {"pubsub|shardchannels", "Returns the active shard channels.", "7.0.0", "pubsub"},
    {"pubsub|shardnumsub", "Returns the count of subscribers of shard channels.", "7.0.0", "pubsub"},
    {"jugglite", "A container for jugglite's own commands.", "0.1.0", "pubsub"},
    {"jugglite|help", "Returns helpful text about the different subcommands.", "0.1.0", "pubsub"},
    {"jugglite|numsub", "Returns a count of subscribers to channels on every bridged node.", "0.1.0", "pubsub"},
    {"client|getname", "Returns the name of the connection.", "2.6.9", "connection"},
    {"client|help", "Returns helpful text about the different subcommands.", "5.0.0", "connection"},
    {"client|id", "Returns the unique client ID of the connection.", "5.0.0", "connection"},
    {"client|info", "Returns information about the connection.", "6.2.0", "connection"},
    {"client|kill", "Terminates open connections.", "2.4.0", "connection"},
    {"client|list", "Lists open connections.", "2.4.0", "connection"},
    {"client|reply", "Instructs the server whether to reply to commands.", "3.2.0", "connection"},
    {"client|setinfo", "Sets information specific to the client or connection.", "7.2.0", "connection"},
    {"client|setname", "Sets the connection name.", "2.6.9", "connection"},
    {"config|get", "Returns the effective values of configuration parameters.", "2.0.0", "server"},
    {"config|help", "Returns helpful text about the different subcommands.", "5.0.0", "server"},
    {"command|count", "Returns a count of commands.", "2.8.13", "server"},
    {"command|docs", "Returns documentary information about one, multiple or all commands.", "7.0.0", "server"},
    {"command|help", "Returns helpful text about the different subcommands.", "5.0.0", "server"},
    {"command|info", "Returns information about one, multiple or all commands.", "2.8.13", "server"},
    {"command|list", "Returns a list of command names.", "7.0.0", "server"},
    {"auth", "Authenticates the connection.", "1.0.0", "connection"},
    {"acl", "A container for Access List Control commands ", "6.0.0", "server"},
    {"acl|cat", "List the ACL categories or the commands inside a category", "6.0.0", "server"},
    {"acl|deluser", "Remove the specified ACL users and the associated rules", "6.0.0", "server"},
    {"acl|genpass", "Generate a pseudorandom secure password to use for ACL users", "6.0.0", "server"},
    {"acl|getuser", "Get the rules for a specific ACL user", "6.0.0", "server"},
    {"acl|help", "Show helpful text about the different subcommands", "6.0.0", "server"},
    {"acl|list", "List the current ACL rules in ACL config file format", "6.0.0", "server"},
    {"acl|log", "List latest events denied because of ACLs in place", "6.0.0", "server"},
    {"acl|setuser", "Modify or create the rules for a specific ACL user", "6.0.0", "server"},
    {"acl|users", "List the username of all the configured ACL rules", "6.0.0", "server"},
    {"acl|whoami", "Return the name of the user associated to the current connection", "6.0.0", "server"},
    {"client", "A container for client connection commands.", "2.4.0", "connection"},
    {"command", "Returns detailed information about all commands.", "2.8.13", "server"},
    {"config", "A container for server configuration commands.", "2.0.0", "server"},
    {"dbsize", "Returns the number of keys in the database.", "1.0.0", "server"},
    {"discard", "Discards a transaction.", "2.0.0", "transactions"},
    {"echo", "Returns the given string.", "1.0.0", "connection"},
    {"exec", "Executes all commands in a transaction.", "1.2.0", "transactions"},
    {"hello", "Handshakes with the Redis server.", "6.0.0", "connection"},
    {"info", "Returns information and statistics about the server.", "1.0.0", "server"},
    {"monitor", "Listen for all requests received by the server in real time", "1.0.0", "server"},
    {"multi", "Starts a transaction.", "1.2.0", "transactions"},
    {"ping", "Returns the server's liveliness response.", "1.0.0", "connection"},
    {"psubscribe", "Listens for messages published to channels that match one or more patterns.", "2.0.0", "pubsub"},
    {"publish", "Posts a message to a channel.", "2.0.0", "pubsub"},
    {"pubsub", "A container for Pub/Sub commands.", "2.8.0", "pubsub"},
    {"punsubscribe", "Stops listening to messages published to channels that match one or more patterns.", "2.0.0", "pubsub"},
    {"quit", "Closes the connection.", "1.0.0", "connection"},
    {"reset", "Resets the connection.", "6.2.0", "connection"},
    {"select", "Changes the selected database.", "1.0.0", "connection"},
    {"spublish", "Post a message to a shard channel", "7.0.0", "pubsub"},
    {"ssubscribe", "Listens for messages published to shard channels.", "7.0.0", "pubsub"},
    {"subscribe", "Listens for messages published to channels.", "2.0.0", "pubsub"},
    {"sunsubscribe", "Stops listening to messages posted to shard channels.", "7.0.0", "pubsub"},
    {"time", "Returns the server time.", "2.6.0", "server"},
    {"unsubscribe", "Stops listening to messages posted to channels.", "2.0.0", "pubsub"},
    {"xlen", "Return the number of entries in a stream", "5.0.0", "stream"},
    {"xrange", "Return a range of elements in a stream, with IDs matching the specified IDs interval", "5.0.0", "stream"},
    {"xread", "Return never seen elements in multiple streams, with IDs greater than the ones reported by the caller for each stream. Can block.", "5.0.0", "stream"},
    {"xrevrange", "Return a range of elements in a stream, with IDs matching the specified IDs interval, in reverse order (from greater to smaller IDs) compared to XRANGE", "5.0.0", "stream"},
};

const jl_resp_doc_t *jl_resp_doc(const char *name)
{
    for (size_t i = 0; i < sizeof docs / sizeof docs[0]; i++)
        if (strcmp(docs[i].name, name) == 0)
            return &docs[i];
    return NULL;
}
