/*
 * ns_keys.h - API keys: where they come from, the check that every key a
 * sweep needs is present, and redaction, the last line of defence that
 * keeps a key out of any message negsim prints or stores.
 *
 * Sources, in order of precedence:
 *   1. the process environment (OPENAI_API_KEY=... negsim run ...);
 *   2. a .env file: ./.env in the working directory by default.
 * An empty environment variable counts as unset, so `export X=` does not
 * hide a key written in .env.
 *
 * .env syntax (the common subset of docker-compose and python-dotenv):
 *     # comment            blank lines are skipped
 *     NAME=value           unquoted; ends at " #" (a comment) or the line
 *                          end; surrounding white space is trimmed
 *     export NAME=value    "export " is accepted and ignored
 *     NAME='value'         literal, no escapes
 *     NAME="value"         escapes \" \\ \n \t; a quoted value ends on its
 *                          line (no multi-line values)
 * NAME is [A-Za-z_][A-Za-z0-9_]*; a later line overrides an earlier one.
 * A bad line fails the load with "path:line: what is wrong". Messages
 * never quote the line: a pasted key without "NAME=" would be echoed.
 *
 * Keys live in memory only, in this object; ns_keys_free wipes them with
 * OPENSSL_cleanse, as it does the file buffer after parsing.
 *
 * Threads: ns_keys_get records every value it hands out for redaction, so
 * gets and redactions are serialised by a mutex inside; the object may be
 * shared between threads.
 */
#ifndef NS_KEYS_H
#define NS_KEYS_H

#include <stddef.h>

#include "ns_status.h"
#include "ns_wire.h"

typedef struct ns_keys ns_keys;

/* Values shorter than this are never redacted: no provider issues keys
 * that short, and replacing every "1" of a message with "[redacted]"
 * (DEBUG=1 in .env) would make errors unreadable. */
#define NS_KEYS_REDACT_MIN 8

/* Loads keys. `dotenv_path` NULL means "./.env", which is optional: when
 * it does not exist the keys come from the environment alone. A path given
 * explicitly must exist (NS_ERR_INPUT otherwise). A malformed line is
 * NS_ERR_INPUT with "path:line: ...". *out is freed with ns_keys_free. */
ns_status ns_keys_load(const char *dotenv_path, ns_keys **out, ns_error *err);
/* Wipes every value held and frees. NULL is a no-op. */
void ns_keys_free(ns_keys *k);

/* Value of variable `name`: the environment first (when set and not
 * empty), then .env; NULL when neither has it. The pointer is owned by k
 * (or by the environment) and valid until ns_keys_free or until the
 * variable is changed with setenv; copy it into the request, do not keep
 * it. Every value returned is added to the redaction list. */
const char *ns_keys_get(ns_keys *k, const char *name);

/* The variable a provider's key is read from by default:
 * OPENAI_API_KEY, ANTHROPIC_API_KEY, GEMINI_API_KEY; NULL for
 * openai-compatible, whose variable the spec names per endpoint. */
const char *ns_keys_default_var(ns_provider p);

/* One key a sweep needs: the variable and what needs it, e.g.
 * {"OPENAI_API_KEY", "openai:gpt-4o-mini"}. var NULL is skipped (a
 * server without authentication). */
typedef struct ns_key_need {
    const char *var;
    const char *used_by;
} ns_key_need;

/* Checks that every needed variable has a value. When any is missing,
 * fails with NS_ERR_INPUT and one message listing ALL of them, each with
 * what needs it, e.g. "missing API keys: OPENAI_API_KEY (for
 * openai:gpt-4o-mini, openai:gpt-4o), GEMINI_API_KEY (for
 * gemini:gemini-2.0-flash) - set them in the environment or in .env".
 * Meant to run before any job starts. */
ns_status ns_keys_require(ns_keys *k, const ns_key_need *needs, size_t n,
                          ns_error *err);

/* Replaces, in the NUL-terminated `text` of capacity `size`, every
 * occurrence of a secret with "[redacted]". Secrets are: every value
 * loaded from .env, every value ns_keys_get has handed out, and the
 * environment's values of variables named *_KEY, *_TOKEN or *_SECRET as
 * they were at load time (at least NS_KEYS_REDACT_MIN characters each).
 * A short secret's marker is longer than the secret, so the text can
 * grow; it is cut to size - 1 characters then, never leaving part of a
 * secret behind. Returns the number of replacements. k NULL: no-op. */
size_t ns_keys_redact(ns_keys *k, char *text, size_t size);
/* ns_keys_redact over an error's message. */
size_t ns_keys_redact_error(ns_keys *k, ns_error *err);

#endif
