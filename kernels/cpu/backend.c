/* backend.c - the CPU backend's op table and memory (host memory: the
 * "device" pointers are ordinary pointers). */
#include "kernels/cpu/cpu_backend.h"

#include <cblas.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/cpu/cpu_kernels.h"

/* Kernels vectorise best on 64-byte aligned arrays (AVX-512 lines). */
#define CPU_ALIGNMENT 64

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

static const struct kurc_backend_ops cpu_ops = {
    .name = "cpu",
#define KURC_SLOT(ret, slot, params) .slot = cpu_##slot,
#include "core/backend_slots.def"
};

struct kurc_backend *kurc_cpu_backend_create(int threads) {
    struct kurc_backend *be = calloc(1, sizeof *be);
    if (!be)
        return NULL;
    be->ops = &cpu_ops;
    if (threads > 0)
        openblas_set_num_threads(threads);
    return be;
}

void kurc_cpu_backend_free(struct kurc_backend *be) {
    free(be);
}

int kurc_cpu_backend_threads(const struct kurc_backend *be) {
    (void)be;
    return openblas_get_num_threads();
}
