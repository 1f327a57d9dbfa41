/* unavailable.c - Kur's hooks that kurc does not run: slack and kurhub post
 * to the network.  The Kurfile's schema checks their parameters; naming
 * one is an error when the hooks are checked, unless its `when` turned it
 * off. */
#include "hooks/hooks_impl.h"

#define NETWORK "posts to the network, which kurc does not do"

/* slack: posts a message (and files) to a Slack channel, as a training
 * or an evaluation hook. */
static const struct kurc_schema slack_params = {
    .types = KT_MAP,
    .keys = KURC_KEYS({"channel", &kurc_schema_string, true},
                      {"url", &kurc_schema_string_or_null},
                      {"user", &kurc_schema_string_or_null},
                      {"icon", &kurc_schema_string_or_null},
                      {"title", &kurc_schema_string_or_null},
                      {"token", &kurc_schema_string_or_null},
                      {"extra_files", KURC_SCHEMA(.types = KT_STR | KT_LIST | KT_NULL)},
                      {"extra_only", &kurc_schema_flag}),
};
const struct kurc_hook_type kurc_training_hook_slack = {
    .component = {"slack", &slack_params},
    .refused = NETWORK,
};
const struct kurc_hook_type kurc_evaluation_hook_slack = {
    .component = {"slack", &slack_params},
    .refused = NETWORK,
};

/* kurhub: uploads the training's progress to KurHub. */
const struct kurc_hook_type kurc_training_hook_kurhub = {
    .component = {"kurhub",
                  KURC_SCHEMA(.types = KT_MAP,
                              .keys = KURC_KEYS({"uuid", &kurc_schema_string, true},
                                                {"endpoint", &kurc_schema_string_or_null}))},
    .refused = NETWORK,
};
