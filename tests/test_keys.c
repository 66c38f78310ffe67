/*
 * test_keys.c - API keys (ns_keys.c).
 *
 * 1. tests/data/dotenv_basic parses: export, quotes of both kinds,
 *    comments, white space, CRLF, duplicates (last wins), no final newline.
 * 2. The environment beats .env; an empty environment variable does not.
 * 3. ./.env is optional, an explicitly named file is not.
 * 4. Each kind of bad line fails with "path:LINE:" and the message never
 *    contains the secret written on that line.
 * 5. Redaction: .env values, *_KEY environment values and values handed out
 *    by ns_keys_get are replaced, a key containing another key goes whole,
 *    short values are left alone, and a text that grows is cut without
 *    leaving part of a secret.
 * 6. ns_keys_require lists every missing variable with all its users.
 * Variable names start with NSK_ so that the user's real keys never matter.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ns_keys.h"

#include "ns_test.h"

static char tmpdir[64];

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");
    if (!f) {
        perror(path);
        exit(2);
    }
    fputs(text, f);
    fclose(f);
}

static ns_keys *load_or_null(const char *path)
{
    ns_keys *k = NULL;
    ns_error err = {0};
    ns_status st = ns_keys_load(path, &k, &err);
    CHECK_ST(st, NS_OK, err);
    return k;
}

static int count_of(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
        n++;
    return n;
}

static void test_parse(void)
{
    ns_keys *k = load_or_null("tests/data/dotenv_basic");
    if (!k)
        return;
    CHECK_STR("exported-value-123", ns_keys_get(k, "NSK_EXPORTED"), "export prefix");
    CHECK_STR("plain value here", ns_keys_get(k, "NSK_PLAIN"), "bare value, comment cut");
    CHECK_STR("abc#def", ns_keys_get(k, "NSK_HASH"), "# inside a bare value");
    CHECK_STR("single # not a comment \\n kept", ns_keys_get(k, "NSK_SINGLE"),
          "single quotes are literal");
    CHECK_STR("double \"quoted\"\tvalue", ns_keys_get(k, "NSK_DOUBLE"),
          "double quotes with escapes");
    CHECK_STR("spaced-value", ns_keys_get(k, "NSK_SPACED"), "spaces around =");
    CHECK(ns_keys_get(k, "NSK_EMPTY") == NULL, "an empty value counts as unset");
    CHECK_STR("second", ns_keys_get(k, "NSK_DUP"), "the last duplicate wins");
    CHECK_STR("crlf-value", ns_keys_get(k, "NSK_CRLF"), "CRLF line end");
    CHECK_STR("no-newline-at-end", ns_keys_get(k, "NSK_LAST"), "last line without newline");
    CHECK(ns_keys_get(k, "NSK_NOT_THERE") == NULL, "an absent name is NULL");

    /* the environment first; an empty environment value does not hide .env */
    CHECK_STR("from-dotenv-value", ns_keys_get(k, "NSK_OVERRIDE"), "from .env");
    setenv("NSK_OVERRIDE", "from-env-value", 1);
    CHECK_STR("from-env-value", ns_keys_get(k, "NSK_OVERRIDE"), "the environment wins");
    setenv("NSK_OVERRIDE", "", 1);
    CHECK_STR("from-dotenv-value", ns_keys_get(k, "NSK_OVERRIDE"), "empty env value");
    unsetenv("NSK_OVERRIDE");
    setenv("NSK_ONLY_ENV", "only-in-env", 1);
    CHECK_STR("only-in-env", ns_keys_get(k, "NSK_ONLY_ENV"), "only in the environment");
    unsetenv("NSK_ONLY_ENV");
    ns_keys_free(k);
}

static void test_default_path(void)
{
    char cwd[4096];
    if (!getcwd(cwd, sizeof cwd) || chdir(tmpdir) != 0) {
        CHECK(0, "cannot change to %s", tmpdir);
        return;
    }
    ns_keys *k = load_or_null(NULL);
    CHECK(k && ns_keys_get(k, "NSK_IN_CWD") == NULL, "no ./.env: nothing loaded");
    ns_keys_free(k);
    write_file(".env", "NSK_IN_CWD=found-in-cwd\n");
    k = load_or_null(NULL);
    if (k)
        CHECK_STR("found-in-cwd", ns_keys_get(k, "NSK_IN_CWD"), "./.env by default");
    ns_keys_free(k);
    unlink(".env");
    if (chdir(cwd) != 0)
        CHECK(0, "cannot change back to %s", cwd);

    ns_error err = {0};
    char path[128];
    snprintf(path, sizeof path, "%s/no-such.env", tmpdir);
    ns_status st = ns_keys_load(path, &k, &err);
    CHECK_ST(st, NS_ERR_INPUT, err);
    CHECK(k == NULL, "no object on failure");
    CHECK(strstr(err.msg, path) != NULL, "the message names the file: %s", err.msg);
}

static void test_bad_lines(void)
{
    static const struct {
        const char *text;
        int line;
        const char *secret;
    } cases[] = {
        {"NSK_A=1\nsk-proj-PASTEDSECRET0001\n", 2, "PASTEDSECRET0001"},
        {"NSK_A=1\n\n# c\nOPENAI_API_KEY sk-NOEQUALS0002\n", 4, "NOEQUALS0002"},
        {"NSK_A=\"unterminated UNTERM0003\n", 1, "UNTERM0003"},
        {"NSK_A='unterminated UNTERM0004\nNSK_B=x'\n", 1, "UNTERM0004"},
        {"NSK_A='quoted' TRAILING0005\n", 1, "TRAILING0005"},
        {"NSK_A=\"quoted\" TRAILING0006\n", 1, "TRAILING0006"},
        {"NSK_A=1\n9NSK=DIGITFIRST0007\n", 2, "DIGITFIRST0007"},
        {"export\n", 1, "export"},
    };
    char path[128];
    snprintf(path, sizeof path, "%s/bad.env", tmpdir);
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        write_file(path, cases[i].text);
        ns_keys *k = NULL;
        ns_error err = {0};
        ns_status st = ns_keys_load(path, &k, &err);
        CHECK_ST(st, NS_ERR_INPUT, err);
        CHECK(k == NULL, "case %zu: no object on failure", i);
        char where[160];
        snprintf(where, sizeof where, "%s:%d: ", path, cases[i].line);
        CHECK(strncmp(err.msg, where, strlen(where)) == 0,
              "case %zu: expected the message to start with \"%s\": %s", i, where,
              err.msg);
        CHECK(strstr(err.msg + strlen(where), cases[i].secret) == NULL,
              "case %zu: the message quotes the line's content: %s", i, err.msg);
        ns_keys_free(k);
    }
    unlink(path);
}

static void test_redact(void)
{
    char path[128];
    snprintf(path, sizeof path, "%s/redact.env", tmpdir);
    write_file(path, "NSK_LONG=outer-secret-XYZ-0123-tail\n"
                     "NSK_INNER=secret-XYZ-0123\n"
                     "NSK_EIGHT=abcdefgh\n"
                     "NSK_DEBUG=1\n");
    setenv("NSK_PROVIDER_API_KEY", "envsecret-0123456789", 1);
    setenv("NSK_CUSTOM_AUTH", "customauth-secret-xyz", 1);
    ns_keys *k = load_or_null(path);
    unsetenv("NSK_PROVIDER_API_KEY");
    if (!k)
        return;

    char text[256] = "401 from server: key envsecret-0123456789 rejected; "
                     "1 retry; sent outer-secret-XYZ-0123-tail and secret-XYZ-0123";
    size_t n = ns_keys_redact(k, text, sizeof text);
    CHECK(n == 3, "3 replacements expected, got %zu: %s", n, text);
    CHECK(!strstr(text, "envsecret") && !strstr(text, "XYZ-0123"),
          "a secret survived: %s", text);
    CHECK(count_of(text, "[redacted]") == 3, "three markers expected: %s", text);
    CHECK(strstr(text, "1 retry") != NULL, "a 1-character value was redacted: %s", text);
    CHECK(strstr(text, "outer-") == NULL, "the outer key was cut in part: %s", text);

    /* a value from the environment not named *_KEY: redacted once handed out */
    char t2[128] = "auth customauth-secret-xyz failed";
    CHECK(ns_keys_redact(k, t2, sizeof t2) == 0, "not yet a known secret: %s", t2);
    CHECK_STR("customauth-secret-xyz", ns_keys_get(k, "NSK_CUSTOM_AUTH"), "custom var");
    unsetenv("NSK_CUSTOM_AUTH");
    CHECK(ns_keys_redact(k, t2, sizeof t2) == 1 && !strstr(t2, "customauth"),
          "a value handed out is redacted: %s", t2);

    /* "[redacted]" is longer than an 8-character secret: the text grows
     * and is cut at the buffer's end, never leaving part of a secret */
    char t3[20] = "abcdefghabcdefgh";
    n = ns_keys_redact(k, t3, sizeof t3);
    CHECK(n == 2 && strlen(t3) == sizeof t3 - 1, "cut to size: %zu, \"%s\"", n, t3);
    CHECK(strstr(t3, "abc") == NULL && strncmp(t3, "[redacted][redacted", 19) == 0,
          "cut text: %s", t3);

    ns_error err = {0};
    snprintf(err.msg, sizeof err.msg, "bad key abcdefgh");
    CHECK(ns_keys_redact_error(k, &err) == 1 && strcmp(err.msg, "bad key [redacted]") == 0,
          "error message redacted: %s", err.msg);
    ns_keys_free(k);
    unlink(path);
}

static void test_require(void)
{
    char path[128];
    snprintf(path, sizeof path, "%s/req.env", tmpdir);
    write_file(path, "NSK_PRESENT_KEY=present-value-123\n");
    ns_keys *k = load_or_null(path);
    if (!k)
        return;
    const ns_key_need needs[] = {
        {"NSK_MISSING_A", "openai:gpt-4o-mini"},
        {"NSK_PRESENT_KEY", "anthropic:claude-3-5-haiku-latest"},
        {"NSK_MISSING_A", "openai:gpt-4o"},
        {NULL, "openai-compatible:local"},
        {"NSK_MISSING_B", "gemini:gemini-2.0-flash"},
        {"NSK_MISSING_A", "openai:gpt-4o-mini"},
    };
    ns_error err = {0};
    ns_status st = ns_keys_require(k, needs, sizeof needs / sizeof *needs, &err);
    CHECK_ST(st, NS_ERR_INPUT, err);
    CHECK_STR("missing API keys: NSK_MISSING_A (for openai:gpt-4o-mini, openai:gpt-4o), "
          "NSK_MISSING_B (for gemini:gemini-2.0-flash) - set them in the environment "
          "or in .env", err.msg, "missing-keys message");

    setenv("NSK_MISSING_A", "now-set-in-env", 1);
    setenv("NSK_MISSING_B", "now-set-in-env-too", 1);
    st = ns_keys_require(k, needs, sizeof needs / sizeof *needs, &err);
    CHECK_ST(st, NS_OK, err);
    unsetenv("NSK_MISSING_A");
    unsetenv("NSK_MISSING_B");

    CHECK_STR("OPENAI_API_KEY", ns_keys_default_var(NS_PROVIDER_OPENAI), "openai var");
    CHECK_STR("ANTHROPIC_API_KEY", ns_keys_default_var(NS_PROVIDER_ANTHROPIC), "anthropic var");
    CHECK_STR("GEMINI_API_KEY", ns_keys_default_var(NS_PROVIDER_GEMINI), "gemini var");
    CHECK(ns_keys_default_var(NS_PROVIDER_OPENAI_COMPATIBLE) == NULL,
          "openai-compatible names its own variable");
    ns_keys_free(k);
    unlink(path);
}

int main(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/test_keys.XXXXXX");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 2;
    }
    test_parse();
    test_default_path();
    test_bad_lines();
    test_redact();
    test_require();
    rmdir(tmpdir);
    return ns_test_report("test_keys");
}
