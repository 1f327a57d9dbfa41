/* cli_commands.c - the sub-command table and the commands this build has. */
#include "cli/cli_commands.h"

#include <stdio.h>
#include <string.h>

#include "base/strbuf.h"
#include "config/kurfile.h"
#include "config/value/json_dump.h"
#include "train/backend_select.h"
#include "train/components.h"

static const struct option dump_opts[] = {{"pre-parse", no_argument, NULL, 'p'}, {NULL, 0, NULL, 0}};
static const struct option train_opts[] = {{"step", no_argument, NULL, 's'},
                                           {"trace", required_argument, NULL, 'T'},
                                           {"trace-steps", required_argument, NULL, 'S'},
                                           {NULL, 0, NULL, 0}};
static const struct option eval_opts[] = {{"step", no_argument, NULL, 's'},
                                          {"trace", required_argument, NULL, 'T'},
                                          {NULL, 0, NULL, 0}};

#define STEP_HELP "  --step          pause before each batch\n"
#define TRAIN_HELP                                                                          \
    STEP_HELP                                                                               \
    "  --trace FILE    write a Chrome/Perfetto trace (JSON) of every rank: each op's\n"    \
    "                  forward and backward, gradient all-reduces, waits, the optimizer,\n" \
    "                  data loading, validation and saving (open it in ui.perfetto.dev)\n" \
    "  --trace-steps N trace only the first N optimizer steps (about 3 events per op\n"    \
    "                  and step, 150 bytes each; default: all)\n"
#define EVAL_HELP                                                                         \
    STEP_HELP                                                                             \
    "  --trace FILE    write a Chrome/Perfetto trace (JSON) of every rank: each op's\n"  \
    "                  forward and data loading (open it in ui.perfetto.dev)\n"
static const struct option build_opts[] = {{"compile", required_argument, NULL, 'c'},
                                           {"bare", no_argument, NULL, 'b'},
                                           {NULL, 0, NULL, 0}};
static const struct option data_opts[] = {{"target", required_argument, NULL, 't'},
                                          {"assemble", no_argument, NULL, 'a'},
                                          {"number", required_argument, NULL, 'n'},
                                          {NULL, 0, NULL, 0}};

static const struct option torch_opts[] = {{"pytorch", no_argument, NULL, 'P'},
                                           {"weights", required_argument, NULL, 'W'},
                                           {NULL, 0, NULL, 0}};
static const struct option import_opts[] = {{"pytorch", no_argument, NULL, 'P'},
                                            {NULL, 0, NULL, 0}};

/* kurc dump: the Kurfile as JSON (below). */
static enum kurc_status cmd_dump(const struct kurc_cli_args *args, struct kurc_err *err);

static const struct kurc_cli_command commands[] = {
    {"train", "train the model (kurc-train is this command)",
     "[--step] [--trace FILE [--trace-steps N]] ", TRAIN_HELP, "", train_opts, kurc_cmd_run},
    {"test", "compute the loss on the test data", "[--step] [--trace FILE] ", EVAL_HELP, "",
     eval_opts, kurc_cmd_run},
    {"evaluate", "run the model on the evaluation data and save its outputs",
     "[--step] [--trace FILE] ", EVAL_HELP, "", eval_opts, kurc_cmd_run},
    {"build", "assemble the model and print its layers", "[-c MODE] [-b] ",
     "  -c, --compile MODE  none, train, test, evaluate or auto (default auto)\n"
     "  -b, --bare          use declared shapes only, load no data\n",
     "c:b", build_opts, kurc_cmd_build},
    {"dump", "print the resolved Kurfile as JSON", "[-p] ",
     "  -p, --pre-parse  print the merged Kurfile before templates are evaluated\n", "p",
     dump_opts, cmd_dump},
    {"data", "print the first batch of a data section", "[-t TARGET] [--assemble] [-n N] ",
     "  -t, --target T   train, validate, test, evaluate or auto (default auto)\n"
     "  --assemble       build the model first (adds model-derived sources)\n"
     "  -n, --number N   print only the first N entries\n",
     "t:n:", data_opts, kurc_cmd_run},
    {"export", "write the model and its weights for another framework",
     "--pytorch [--weights FILE] DIR ",
     "  --pytorch       write DIR/model.py (a torch.nn.Module) and DIR/weights.pt (its\n"
     "                  state_dict)\n"
     "  --weights FILE  the weights to export (default: the evaluate section's, as\n"
     "                  evaluate takes them: without any, the initial weights)\n"
     "  -c, --compile MODE  the section whose data gives the shapes (as in build)\n",
     "c:", torch_opts, kurc_cmd_export, 1, 0, NULL},
    {"import", "read weights of another framework into a kurc weight file",
     "--pytorch WEIGHTS.pt ",
     "  --pytorch       WEIGHTS.pt is a state_dict as `export --pytorch` writes it;\n"
     "                  OUT is the kurc weight file (HDF5) written\n"
     "  -c, --compile MODE  the section whose data gives the shapes (as in build)\n",
     "c:", import_opts, kurc_cmd_import, 1, 1, " OUT"},
    {NULL},
};

const struct kurc_cli_command *kurc_cli_commands(void) {
    return commands;
}

enum kurc_status kurc_cli_load(const struct kurc_cli_args *args, struct kurc_kurfile **kf,
                               struct kurc_err *err) {
    enum kurc_status st = kurc_kurfile_load(args->kurfile, kf, err);
    if (st) {
        *kf = NULL;
        return st;
    }
    (*kf)->gpu_count = kurc_visible_gpus;
    if (args->pre_parse)
        return KURC_OK;
    struct kurc_components components = *kurc_all_components();
    components.unknown_training_hooks_warn = strcmp(args->command, "train") != 0;
    return kurc_kurfile_parse(*kf, &components, err);
}

static enum kurc_status cmd_dump(const struct kurc_cli_args *args, struct kurc_err *err) {
    struct kurc_kurfile *kf;
    enum kurc_status st = kurc_cli_load(args, &kf, err);
    if (!kf)
        return st;
    if (st == KURC_OK) {
        struct kurc_strbuf out = KURC_STRBUF_INIT;
        kurc_json_dump(args->pre_parse ? kf->raw : kf->data, 4, true, &out);
        fwrite(out.data, 1, out.len, stdout);
        fputc('\n', stdout);
        kurc_strbuf_free(&out);
    }
    kurc_kurfile_free(kf);
    return st;
}
