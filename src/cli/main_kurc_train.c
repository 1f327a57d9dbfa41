/* main_kurc_train.c - kurc-train, which is `kurc train` (the name mpirun
 * launches: `mpirun -np 8 kurc-train spec.yml`). */
#include "cli/cli.h"

int main(int argc, char **argv) {
    return kurc_cli_main(argc, argv, "train");
}
