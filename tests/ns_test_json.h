/*
 * ns_test_json.h - reading into jansson trees in tests: the value at a
 * dotted path, "a.b.0.c", where a number indexes an array.
 */
#ifndef NS_TEST_JSON_H
#define NS_TEST_JSON_H

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The value at `path` under root, or NULL. */
static inline json_t *json_at(json_t *root, const char *path)
{
    char buf[256];
    snprintf(buf, sizeof buf, "%s", path);
    json_t *v = root;
    for (char *save = NULL, *tok = strtok_r(buf, ".", &save); tok && v;
         tok = strtok_r(NULL, ".", &save)) {
        if (json_is_array(v)) {
            char *end;
            long i = strtol(tok, &end, 10);
            v = *end || i < 0 ? NULL : json_array_get(v, (size_t)i);
        } else {
            v = json_object_get(v, tok);
        }
    }
    return v;
}

#endif
