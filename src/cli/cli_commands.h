/* cli_commands.h - the table of kurc sub-commands and what they share. */
#ifndef KURC_CLI_COMMANDS_H
#define KURC_CLI_COMMANDS_H

#include <getopt.h>

#include "base/status.h"
#include "config/kurfile.h"

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
};

struct kurc_cli_command {
    const char *name;
    const char *summary;
    const char *usage; /* flags part of the usage line */
    const char *help;  /* flag descriptions */
    const char *short_opts;
    const struct option *long_opts;
    enum kurc_status (*run)(const struct kurc_cli_args *args, struct kurc_err *err);
};

/* The NULL-name terminated table of commands. */
const struct kurc_cli_command *kurc_cli_commands(void);

/* Loads the Kurfile of args and, unless dump -p asked for the merged file
 * only, parses it with kurc's components (and the GPUs this process sees
 * for gpu_count()).  *kf is new (free it with kurc_kurfile_free) also on a
 * parse error; NULL when loading failed. */
enum kurc_status kurc_cli_load(const struct kurc_cli_args *args, struct kurc_kurfile **kf,
                               struct kurc_err *err);

/* Commands. */
enum kurc_status kurc_cmd_run(const struct kurc_cli_args *args, struct kurc_err *err);
enum kurc_status kurc_cmd_build(const struct kurc_cli_args *args, struct kurc_err *err);

#endif
