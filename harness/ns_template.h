/*
 * ns_template.h - prompt templates: text files with {{variable}}
 * placeholders, parsed once and rendered many times.
 *
 * Syntax (docs/prompts.md):
 *   {{name}}   the value of variable `name`; blanks (spaces, tabs) may
 *              surround the name: {{ name }}. A name is a letter or '_'
 *              followed by letters, digits and '_', and the placeholder
 *              must close with "}}" on the line where it opens.
 *   {{{{       a literal "{{" (the only escape; "}}" and single braces
 *              need none).
 * Everything else is copied as it stands, newlines included.
 *
 * Loading parses the file into literal segments and variable references,
 * each reference remembering its line and column (1-based; columns count
 * UTF-8 characters, as editors do), so every error points into the file:
 * an unterminated "{{", a malformed name, a variable no caller provides
 * (ns_template_check, which the runner calls before any request is sent)
 * and a variable left without a value when rendering. A missing value is
 * always an error, never an empty substitution: a prompt silently missing
 * its reservation values would make a whole sweep worthless.
 *
 * The SHA-256 of the file's bytes identifies the template in the results
 * file, so two runs with different prompts are never confused.
 *
 * A loaded template is read-only: any number of threads may render it.
 */
#ifndef NS_TEMPLATE_H
#define NS_TEMPLATE_H

#include <stddef.h>

#include "ns_status.h"

typedef struct ns_template ns_template;

/* Value of variable `name`, or NULL when it has none. The string must stay
 * valid until ns_template_render returns. */
typedef const char *(*ns_template_lookup_fn)(void *ctx, const char *name);

/* Reads and parses the template file at path. Errors: NS_ERR_IO when the
 * file cannot be read, NS_ERR_INPUT ("path:line:col: ...") for bad syntax
 * or a NUL byte. *out is NULL on failure. */
ns_status ns_template_load(const char *path, ns_template **out, ns_error *err);
/* Parses `len` bytes of template text held in memory; `name` stands for
 * the file name in errors. The bytes are copied. */
ns_status ns_template_parse(const char *name, const char *text, size_t len,
                            ns_template **out, ns_error *err);
void ns_template_free(ns_template *t); /* NULL is a no-op */

/* The distinct variable names the template uses, in order of first use;
 * the array and the names are owned by t. */
const char *const *ns_template_vars(const ns_template *t, size_t *n);

/* Fails (NS_ERR_INPUT) naming the first variable, in file order, that is
 * not among the n names of `known`, at its "path:line:col". */
ns_status ns_template_check(const ns_template *t, const char *const *known,
                            size_t n, ns_error *err);

/* Renders the template into a fresh NUL-terminated string (*out, the
 * caller frees it). lookup is called once per distinct variable. A
 * variable whose lookup returns NULL fails (NS_ERR_INPUT) at the place it
 * is first used, and *out is then NULL. */
ns_status ns_template_render(const ns_template *t, ns_template_lookup_fn lookup,
                             void *ctx, char **out, ns_error *err);

/* SHA-256 of the template's bytes as 64 lower-case hex digits (owned). */
const char *ns_template_hash(const ns_template *t);
/* The path (or name) the template was loaded from (owned). */
const char *ns_template_path(const ns_template *t);
/* The template's text as read (owned), and its length in bytes. */
const char *ns_template_text(const ns_template *t, size_t *len);

#endif
