/* main_kurc.c - the kurc program: `kurc COMMAND [flags] KURFILE`. */
#include "cli/cli.h"

int main(int argc, char **argv) {
    return kurc_cli_main(argc, argv, 0);
}
