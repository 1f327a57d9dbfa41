/* cli_commands.h - the table of kurc sub-commands and what they share. */
#ifndef KURC_CLI_COMMANDS_H
#define KURC_CLI_COMMANDS_H

#include <getopt.h>

#include "base/status.h"
#include "config/kurfile.h"
#include "data/dataset.h"
#include "model/model.h"

/* What every command receives after its flags are parsed. */
struct kurc_cli_args {
    const char *command;
    const char *kurfile;
    int pre_parse;     /* dump -p */
    int step;          /* train/test/evaluate --step */
    int bare;          /* build -b */
    const char *mode;  /* build -c, data -t */
    int assemble;      /* data --assemble */
    long number;       /* data -n; -1 when not given */
    int pytorch;       /* export/import --pytorch */
    const char *weights;       /* export --weights */
    const char *operands[2];   /* export DIR; import WEIGHTS.pt and OUT */
    const char *trace; /* train/test/evaluate --trace FILE */
    long trace_steps;  /* --trace-steps N; 0 when not given */
};

struct kurc_cli_command {
    const char *name;
    const char *summary;
    const char *usage; /* flags part of the usage line */
    const char *help;  /* flag descriptions */
    const char *short_opts;
    const struct option *long_opts;
    enum kurc_status (*run)(const struct kurc_cli_args *args, struct kurc_err *err);
    int before; /* operands before KURFILE (args.operands[0...]) */
    int after;  /* operands after KURFILE (args.operands[before...]) */
    const char *usage_after; /* their part of the usage line */
};

/* The NULL-name terminated table of commands. */
const struct kurc_cli_command *kurc_cli_commands(void);

/* Loads the Kurfile of args and, unless dump -p asked for the merged file
 * only, parses it with kurc's components (and the GPUs this process sees
 * for gpu_count()).  *kf is new (free it with kurc_kurfile_free) also on a
 * parse error; NULL when loading failed. */
enum kurc_status kurc_cli_load(const struct kurc_cli_args *args, struct kurc_kurfile **kf,
                               struct kurc_err *err);

/* The data shapes of one build (cli_build.c). */
struct kurc_cli_shapes {
    const struct kurc_dataset *data;
    struct kurc_shape_source source;
};

/* A model built as `kurc build` builds it: from the data of the section
 * args->mode names (auto: the first of train, test and evaluate that has
 * data; none or args->bare: declared shapes only), with the free axes
 * given two lengths (m and probe) where its parameters allow, else (probe
 * NULL) with the data's lengths. */
struct kurc_cli_built {
    struct kurc_model *m, *probe;
    struct kurc_dataset data;
    struct kurc_cli_shapes shapes[2];
};

/* Builds it; out must be released with kurc_cli_built_release whatever the
 * result. */
enum kurc_status kurc_cli_build_model(struct kurc_kurfile *kf, const struct kurc_cli_args *args,
                                      struct kurc_cli_built *out, struct kurc_err *err);
void kurc_cli_built_release(struct kurc_cli_built *b);

/* Commands. */
enum kurc_status kurc_cmd_run(const struct kurc_cli_args *args, struct kurc_err *err);
enum kurc_status kurc_cmd_build(const struct kurc_cli_args *args, struct kurc_err *err);
enum kurc_status kurc_cmd_export(const struct kurc_cli_args *args, struct kurc_err *err);
enum kurc_status kurc_cmd_import(const struct kurc_cli_args *args, struct kurc_err *err);

#endif
