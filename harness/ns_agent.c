/*
 * ns_agent.c - the registry of agent kinds: the table a spec's `agent:`
 * names are looked up in. Each kind lives in its own file
 * (ns_agent_builtin.c, ...) as one const ns_agent_kind; adding a kind means
 * adding it to `kinds` below and nothing else.
 */
#include "ns_agent.h"

#include <string.h>

const char *const ns_action_names[3] = {"offer", "accept", "walk"};

static const ns_agent_kind *const kinds[] = {
    &ns_agent_builtin,
    &ns_agent_llm,
};
#define N_KINDS ((int)(sizeof kinds / sizeof kinds[0]))

const ns_agent_kind *ns_agent_kind_find(const char *name)
{
    for (int i = 0; i < N_KINDS; i++)
        if (strcmp(kinds[i]->name, name) == 0)
            return kinds[i];
    return NULL;
}

const char *ns_agent_kind_names(void)
{
    /* Kept by hand in step with `kinds`; test_agent checks that they agree. */
    return "builtin, llm";
}
