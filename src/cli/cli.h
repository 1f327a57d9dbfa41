/* cli.h - kurc's command line: global flags, sub-commands, exit codes.
 *
 *   kurc [-v|-vv|-vvv] [--no-color] [-V|--version] [-h] COMMAND [flags] KURFILE
 *
 * Commands: train, test, evaluate, build, dump, data; `COMMAND --help` explains
 * each.  kurc-train is `kurc train`.  Exit codes: 0 success, 2 a bad Kurfile
 * or command line, 1 any other failure.
 */
#ifndef KURC_CLI_H
#define KURC_CLI_H

/* Runs kurc.  forced_command, if not NULL, is the command the program name
 * implies (kurc-train), and argv holds only its flags and Kurfile.  Returns
 * the process exit code. */
int kurc_cli_main(int argc, char **argv, const char *forced_command);

#endif
