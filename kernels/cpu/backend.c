/* backend.c - the CPU backend's op table and memory (host memory: the
 * "device" pointers are ordinary pointers). */
#include "kernels/cpu/cpu_backend.h"

#include <cblas.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/cpu/cpu_kernels.h"

/* Kernels vectorise best on 64-byte aligned arrays (AVX-512 lines). */
#define CPU_ALIGNMENT 64

static void *cpu_alloc(struct kurc_backend *be, size_t bytes) {
    (void)be;
    size_t rounded = (bytes + CPU_ALIGNMENT - 1) / CPU_ALIGNMENT * CPU_ALIGNMENT;
    void *p = aligned_alloc(CPU_ALIGNMENT, rounded ? rounded : CPU_ALIGNMENT);
    if (p)
        memset(p, 0, rounded);
    return p;
}

static void cpu_free(struct kurc_backend *be, void *ptr) {
    (void)be;
    free(ptr);
}

static void cpu_memcpy(struct kurc_backend *be, void *dst, const void *src, size_t bytes) {
    (void)be;
    if (bytes)
        memmove(dst, src, bytes);
}

static void cpu_zero(struct kurc_backend *be, void *dst, size_t bytes) {
    (void)be;
    if (bytes)
        memset(dst, 0, bytes);
}

static void cpu_synchronize(struct kurc_backend *be) {
    (void)be;
}

/* Host memory and plain C: nothing can fail after creation. */
static enum kurc_status cpu_check(struct kurc_backend *be, struct kurc_err *err) {
    (void)be;
    (void)err;
    return KURC_OK;
}

static const struct kurc_backend_ops cpu_ops = {
    .name = "cpu",
    .alloc = cpu_alloc,
    .free = cpu_free,
    .upload = cpu_memcpy,
    .download = cpu_memcpy,
    .copy = cpu_memcpy,
    .zero = cpu_zero,
    .fill = cpu_fill,
    .synchronize = cpu_synchronize,
    .check = cpu_check,
    .gemm = cpu_gemm,
    .bias_add = cpu_bias_add,
    .bias_backward = cpu_bias_backward,
    .conv_workspace = cpu_conv_workspace,
    .conv_forward = cpu_conv_forward,
    .conv_backward_data = cpu_conv_backward_data,
    .conv_backward_filter = cpu_conv_backward_filter,
    .pool_forward = cpu_pool_forward,
    .pool_backward = cpu_pool_backward,
    .act_forward = cpu_act_forward,
    .act_backward = cpu_act_backward,
    .softmax_forward = cpu_softmax_forward,
    .softmax_backward = cpu_softmax_backward,
    .add = cpu_add,
    .mul = cpu_mul,
    .axpby = cpu_axpby,
    .mul_backward = cpu_mul_backward,
    .copy_strided = cpu_copy_strided,
    .gather = cpu_gather,
    .gather_backward = cpu_gather_backward,
    .dropout_forward = cpu_dropout_forward,
    .batchnorm_forward = cpu_batchnorm_forward,
    .batchnorm_backward = cpu_batchnorm_backward,
    .batchnorm_sums = cpu_batchnorm_sums,
    .batchnorm_affine = cpu_batchnorm_affine,
    .cce_forward = cpu_cce_forward,
    .cce_backward = cpu_cce_backward,
    .mse_forward = cpu_mse_forward,
    .mse_backward = cpu_mse_backward,
    .sum = cpu_sum,
    .sum_squares = cpu_sum_squares,
    .clip = cpu_clip,
    .sgd_step = cpu_sgd_step,
    .adam_step = cpu_adam_step,
    .rmsprop_step = cpu_rmsprop_step,
    .adadelta_step = cpu_adadelta_step,
    .rnn_forward_gates = cpu_rnn_forward_gates,
    .rnn_forward_step = cpu_rnn_forward_step,
    .rnn_backward_step = cpu_rnn_backward_step,
    .rnn_backward_gates = cpu_rnn_backward_gates,
    .ctc_workspace = cpu_ctc_workspace,
    .ctc_forward = cpu_ctc_forward,
    .ctc_backward = cpu_ctc_backward,
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
