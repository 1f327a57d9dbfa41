/* cli.c - global flags, command dispatch and help (see cli.h). */
#include "cli/cli.h"

#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/kurc_config.h"
#include "base/log.h"
#include "base/suggest.h"
#include "cli/cli_commands.h"

static void print_version(void) {
    printf("kurc %s (MPI %s, CUDA %s, NCCL %s)\n", KURC_VERSION, KURC_HAVE_MPI ? "yes" : "no",
           KURC_HAVE_CUDA ? "yes" : "no", KURC_HAVE_NCCL ? "yes" : "no");
}

static void print_usage(FILE *out) {
    fprintf(out,
            "usage: kurc [-v|-vv|-vvv] [--no-color] [-V|--version] [-h|--help] COMMAND [flags] "
            "KURFILE\n\n"
            "Descriptive deep learning: KURFILE (YAML or JSON) describes the model, its data\n"
            "and its training.\n\ncommands:\n");
    for (const struct kurc_cli_command *c = kurc_cli_commands(); c->name; c++)
        fprintf(out, "  %-9s %s\n", c->name, c->summary);
    fprintf(out, "\nglobal flags:\n"
                 "  -v, --verbose   more output (-v info, -vv debug, -vvv trace)\n"
                 "  --no-color      plain log lines\n"
                 "  -V, --version   print the version and exit\n"
                 "  -h, --help      this help; `kurc COMMAND --help` for a command\n");
}

static void print_command_help(const struct kurc_cli_command *c, bool forced) {
    if (forced)
        printf("usage: kurc-train %sKURFILE\n\n%s (kurc-train is `kurc train`)\n", c->usage,
               c->summary);
    else
        printf("usage: kurc %s %sKURFILE%s\n\n%s\n", c->name, c->usage,
               c->usage_after ? c->usage_after : "", c->summary);
    printf("\nflags:\n%s", c->help);
    printf("  -v, --verbose   more output (-v info, -vv debug, -vvv trace)\n"
           "  --no-color      plain log lines\n"
           "  -h, --help      this help\n");
}

static void configure_log(int verbose, int color) {
    kurc_log_configure(verbose >= 3   ? KURC_LOG_TRACE
                       : verbose == 2 ? KURC_LOG_DEBUG
                       : verbose == 1 ? KURC_LOG_INFO
                                      : KURC_LOG_WARNING,
                       color, -1);
}

static enum kurc_status usage_error(struct kurc_err *err, const char *fmt, const char *arg) {
    return kurc_err_set(err, KURC_E_USAGE, NULL, fmt, arg);
}

static const struct kurc_cli_command *find_command(const char *name, struct kurc_err *err) {
    const char *names[16];
    size_t n = 0;
    for (const struct kurc_cli_command *c = kurc_cli_commands(); c->name; c++) {
        if (strcmp(c->name, name) == 0)
            return c;
        if (n < 15)
            names[n++] = c->name;
    }
    names[n] = NULL;
    const char *hint = kurc_suggest(name, names);
    if (hint)
        kurc_err_set(err, KURC_E_USAGE, NULL, "unknown command '%s'; did you mean '%s'?", name,
                     hint);
    else
        kurc_err_set(err, KURC_E_USAGE, NULL, "unknown command '%s' (see kurc --help)", name);
    return NULL;
}

/* Parses a command's own flags (and the logging flags, which every command
 * also takes) and its Kurfile, then runs it. */
static enum kurc_status run_command(const struct kurc_cli_command *c, int argc, char **argv,
                                    bool forced, int verbose, int color, struct kurc_err *err) {
    struct kurc_cli_args args = {.command = c->name, .number = -1};
    char short_opts[64];
    snprintf(short_opts, sizeof short_opts, ":hv%s", c->short_opts);
    struct option long_opts[16];
    size_t n_long = 0;
    for (const struct option *o = c->long_opts; o && o->name && n_long < 12; o++)
        long_opts[n_long++] = *o;
    long_opts[n_long++] = (struct option){"help", no_argument, NULL, 'h'};
    long_opts[n_long++] = (struct option){"verbose", no_argument, NULL, 'v'};
    long_opts[n_long++] = (struct option){"no-color", no_argument, NULL, 'C'};
    long_opts[n_long] = (struct option){NULL, 0, NULL, 0};
    /* 0: glibc starts afresh (the global flags were read in order only, "+"),
     * so flags may also follow the operands */
    optind = 0;
    opterr = 0;
    int opt;
    while ((opt = getopt_long(argc, argv, short_opts, long_opts, NULL)) != -1) {
        switch (opt) {
        case 'h':
            print_command_help(c, forced);
            return KURC_OK;
        case 'v':
            verbose++;
            break;
        case 'C':
            color = 0;
            break;
        case 'p':
            args.pre_parse = 1;
            break;
        case 's':
            args.step = 1;
            break;
        case 'b':
            args.bare = 1;
            break;
        case 'c':
        case 't':
            args.mode = optarg;
            break;
        case 'a':
            args.assemble = 1;
            break;
        case 'P':
            args.pytorch = 1;
            break;
        case 'W':
            args.weights = optarg;
            break;
        case 'n': {
            char *end;
            args.number = strtol(optarg, &end, 10);
            if (*end || args.number < 0)
                return usage_error(err, "-n expects a non-negative number, not '%s'", optarg);
            break;
        }
        case 'T':
            if (!*optarg)
                return usage_error(err, "--trace expects a file name%s", "");
            args.trace = optarg;
            break;
        case 'S': {
            char *end;
            args.trace_steps = strtol(optarg, &end, 10);
            if (*end || !*optarg || args.trace_steps < 1)
                return usage_error(err, "--trace-steps expects a positive number, not '%s'",
                                   optarg);
            break;
        }
        case ':':
            return usage_error(err, "option '%s' needs a value", argv[optind - 1]);
        default:
            return usage_error(err, "unknown option '%s' (see --help)", argv[optind - 1]);
        }
    }
    if (args.trace_steps && !args.trace)
        return usage_error(err, "--trace-steps needs --trace FILE%s", "");
    int want = c->before + 1 + c->after;
    if (argc - optind < want)
        return kurc_err_set(err, KURC_E_USAGE, NULL, "%s: missing %s (usage: kurc %s %s%s%s)",
                            c->name, argc - optind < c->before ? "operands" : "KURFILE",
                            c->name, c->usage, "KURFILE", c->usage_after ? c->usage_after : "");
    if (argc - optind > want)
        return usage_error(err, "unexpected argument '%s' (see --help)", argv[optind + want]);
    for (int i = 0; i < c->before; i++)
        args.operands[i] = argv[optind++];
    args.kurfile = argv[optind++];
    for (int i = 0; i < c->after; i++)
        args.operands[c->before + i] = argv[optind++];
    configure_log(verbose, color);
    return c->run(&args, err);
}

int kurc_cli_main(int argc, char **argv, const char *forced_command) {
    static const struct option global_opts[] = {
        {"verbose", no_argument, NULL, 'v'},  {"version", no_argument, NULL, 'V'},
        {"help", no_argument, NULL, 'h'},     {"no-color", no_argument, NULL, 'C'},
        {NULL, 0, NULL, 0},
    };
    int verbose = 0, color = -1;
    struct kurc_err err;
    kurc_err_clear(&err);
    const char *prog = forced_command ? "kurc-train" : "kurc";

    const struct kurc_cli_command *cmd = NULL;
    int first = 1;
    if (!forced_command) {
        optind = 1;
        opterr = 0;
        int opt;
        while ((opt = getopt_long(argc, argv, "+vVh", global_opts, NULL)) != -1) {
            switch (opt) {
            case 'v':
                verbose++;
                break;
            case 'V':
                print_version();
                return 0;
            case 'h':
                print_usage(stdout);
                return 0;
            case 'C':
                color = 0;
                break;
            default:
                fprintf(stderr, "kurc: unknown option '%s' (see kurc --help)\n", argv[optind - 1]);
                return 2;
            }
        }
        if (optind >= argc) {
            print_usage(stderr);
            fprintf(stderr, "\nkurc: nothing to do: give a COMMAND\n");
            return 2;
        }
        first = optind;
        cmd = find_command(argv[first], &err);
    } else {
        first = 0;
        cmd = find_command(forced_command, &err);
    }
    configure_log(verbose, color);
    enum kurc_status st = err.status;
    if (cmd)
        st = run_command(cmd, argc - first, argv + first, forced_command != NULL, verbose, color,
                         &err);
    if (st == KURC_OK)
        return 0;
    char line[2200];
    kurc_err_format(&err, line, sizeof line);
    if (err.file[0])
        fprintf(stderr, "%s\n", line);
    else
        fprintf(stderr, "%s: %s\n", prog, line);
    return kurc_status_exit_code(st);
}
