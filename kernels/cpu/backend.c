/* backend.c - the CPU backend's lifecycle, memory (host memory: the
 * "device" pointers are ordinary pointers) and registry entry; its op
 * table is table.c. */
#include "kernels/cpu/cpu_backend.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/cpu/cpu_kernels.h"
#include "kernels/cpu/openblas_lib.h"

/* Kernels vectorise best on 64-byte aligned arrays (AVX-512 lines). */
#define CPU_ALIGNMENT 64

void cpu_destroy(struct kurc_backend *be) {
    free(be);
}

void cpu_describe(struct kurc_backend *be, char *buf, size_t size) {
    (void)be;
    int threads = OPENBLAS(openblas_get_num_threads)();
    snprintf(buf, size, "cpu with %d BLAS thread%s", threads, threads == 1 ? "" : "s");
}

/* Every slot has finished when it returns: no stream. */
void *cpu_stream(struct kurc_backend *be) {
    (void)be;
    return NULL;
}

int cpu_device(struct kurc_backend *be) {
    (void)be;
    return -1;
}

bool cpu_device_uuid(struct kurc_backend *be, unsigned char uuid[16]) {
    (void)be;
    (void)uuid;
    return false;
}

void *cpu_alloc(struct kurc_backend *be, size_t bytes) {
    (void)be;
    size_t rounded = (bytes + CPU_ALIGNMENT - 1) / CPU_ALIGNMENT * CPU_ALIGNMENT;
    void *p = aligned_alloc(CPU_ALIGNMENT, rounded ? rounded : CPU_ALIGNMENT);
    if (p)
        memset(p, 0, rounded);
    return p;
}

void cpu_free(struct kurc_backend *be, void *ptr) {
    (void)be;
    free(ptr);
}

void cpu_copy(struct kurc_backend *be, void *dst, const void *src, size_t bytes) {
    (void)be;
    if (bytes)
        memmove(dst, src, bytes);
}

/* The backend's memory is the host's: uploads and downloads are copies. */
void cpu_upload(struct kurc_backend *be, void *dst, const void *src, size_t bytes) {
    cpu_copy(be, dst, src, bytes);
}

void cpu_download(struct kurc_backend *be, void *dst, const void *src, size_t bytes) {
    cpu_copy(be, dst, src, bytes);
}

void cpu_zero(struct kurc_backend *be, void *dst, size_t bytes) {
    (void)be;
    if (bytes)
        memset(dst, 0, bytes);
}

void cpu_synchronize(struct kurc_backend *be) {
    (void)be;
}

/* Host memory and plain C: nothing can fail after creation. */
enum kurc_status cpu_check(struct kurc_backend *be, struct kurc_err *err) {
    (void)be;
    (void)err;
    return KURC_OK;
}

/* Opens OpenBLAS (the first time), then makes the backend. */
static enum kurc_status create(int threads, struct kurc_backend **out, struct kurc_err *err) {
    *out = NULL;
    enum kurc_status st = kurc_openblas_load(err);
    if (st)
        return st;
    struct kurc_backend *be = calloc(1, sizeof *be);
    if (!be)
        return kurc_err_set(err, KURC_E_BACKEND, NULL, "cannot create the CPU backend");
    be->ops = &kurc_cpu_ops;
    if (threads > 0)
        OPENBLAS(openblas_set_num_threads)(threads);
    *out = be;
    return KURC_OK;
}

struct kurc_backend *kurc_cpu_backend_create(int threads) {
    struct kurc_backend *be;
    struct kurc_err err;
    create(threads, &be, &err);
    return be;
}

/* --- the registry entry ------------------------------------------------------- */

static int cpu_available(char *why, size_t why_size) {
    if (why && why_size)
        why[0] = '\0';
    return 1;
}

static enum kurc_status cpu_create(const struct kurc_backend_options *opt,
                                   struct kurc_backend **out, struct kurc_err *err) {
    return create(opt->threads, out, err);
}

const struct kurc_backend_type kurc_cpu_backend_type = {
    .name = "cpu",
    .memory = KURC_MEMORY_HOST,
    .available = cpu_available,
    .create = cpu_create,
};
