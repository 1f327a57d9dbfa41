/* test_gpu_absent.c - a GPU test without a CUDA device skips only where
 * nvidia-smi lists no GPU (gpu_absent.h), with fake nvidia-smi programs.
 * Needs no GPU. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "gpu_absent.h"

/* A fake nvidia-smi printing `text` for -L; its path in path. */
static void fake_smi(char path[64], const char *text) {
    snprintf(path, 64, "/tmp/kurc-fake-smi-%ld", (long)getpid());
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "#!/bin/sh\n[ \"$1\" = -L ] || exit 2\nprintf '%s'\n", text);
    fclose(f);
    chmod(path, 0755);
    setenv("KURC_NVIDIA_SMI", path, 1);
}

static void test_listed_gpus_fail(void **state) {
    (void)state;
    char path[64];
    fake_smi(path, "GPU 0: NVIDIA H100 80GB HBM3 (UUID: GPU-1)\\nGPU 1: NVIDIA H100 80GB HBM3 "
                   "(UUID: GPU-2)\\n");
    assert_int_equal(ct_listed_gpus(), 2);
    assert_int_equal(ct_no_gpu_status("cudaGetDeviceCount: CUDA driver version is insufficient",
                                      true),
                     1);
    unlink(path);
}

static void test_no_gpus_skip(void **state) {
    (void)state;
    char path[64];
    /* what nvidia-smi prints where the driver has no GPU */
    fake_smi(path, "No devices found.\\n");
    assert_int_equal(ct_no_gpu_status("no CUDA device is visible", true), 77);
    unlink(path);
    /* no nvidia-smi at all */
    setenv("KURC_NVIDIA_SMI", "/nonexistent/nvidia-smi", 1);
    assert_int_equal(ct_listed_gpus(), 0);
    assert_int_equal(ct_no_gpu_status("no CUDA device is visible", false), 77);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_listed_gpus_fail),
        cmocka_unit_test(test_no_gpus_skip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
