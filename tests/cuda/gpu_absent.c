/* gpu_absent.c - skipping or failing a GPU test without a CUDA device (see
 * gpu_absent.h). */
#define _POSIX_C_SOURCE 200809L /* popen */
#include "gpu_absent.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int ct_listed_gpus(void) {
    const char *smi = getenv("KURC_NVIDIA_SMI");
    char command[512];
    snprintf(command, sizeof command, "'%s' -L 2>/dev/null", smi && *smi ? smi : "nvidia-smi");
    FILE *p = popen(command, "r");
    if (!p)
        return 0;
    int n = 0;
    char line[512];
    while (fgets(line, sizeof line, p))
        n += strncmp(line, "GPU ", 4) == 0;
    pclose(p);
    return n;
}

int ct_no_gpu_status(const char *why, bool say) {
    int listed = ct_listed_gpus();
    if (say && listed)
        printf("FAILED: nvidia-smi lists %d GPU%s but CUDA sees none: %s\n", listed,
               listed == 1 ? "" : "s", why);
    else if (say)
        printf("skipped: %s\n", why);
    fflush(stdout);
    return listed ? 1 : 77;
}
