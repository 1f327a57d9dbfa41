/* cudatest.c - helpers of the CUDA tests (see cudatest.h). */
#include "cudatest.h"

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/rng.h"
#include "gpu_absent.h"
#include "tolerance.h"
#include "kernels/cuda/cuda_backend.h"

void ct_require_gpu(void) {
    char why[256];
    if (kurc_cuda_backend_type.available(why, sizeof why) == 0)
        exit(ct_no_gpu_status(why, true));
}

struct kurc_backend *ct_gpu_backend(void) {
    struct kurc_backend_options opt = {.device = 0, .rank = -1, .allow_tf32 = false};
    struct kurc_backend *be;
    struct kurc_err err;
    if (kurc_cuda_backend_type.create(&opt, &be, &err)) {
        fprintf(stderr, "cannot create the CUDA backend: %s\n", err.msg);
        exit(1);
    }
    char what[256];
    be->ops->describe(be, what, sizeof what);
    printf("backend: %s\n", what);
    return be;
}

static struct ct_arr make(struct kurc_backend *gpu, int64_t n) {
    struct ct_arr a = {n, calloc((size_t)(n > 0 ? n : 1), sizeof(float)), NULL};
    a.d = gpu->ops->alloc(gpu, (size_t)(n > 0 ? n : 1) * sizeof(float));
    if (!a.h || !a.d) {
        struct kurc_err err;
        kurc_backend_check(gpu, &err);
        fprintf(stderr, "cannot allocate %lld floats: %s\n", (long long)n, err.msg);
        exit(1);
    }
    return a;
}

static void push(struct kurc_backend *gpu, struct ct_arr *a) {
    if (a->n > 0)
        gpu->ops->upload(gpu, a->d, a->h, (size_t)a->n * sizeof(float));
}

struct ct_arr ct_rand(struct kurc_backend *gpu, int64_t n, uint64_t seed, float lo, float hi) {
    struct ct_arr a = make(gpu, n);
    for (int64_t i = 0; i < n; i++)
        a.h[i] = lo + (hi - lo) * kurc_rng_uniform(seed, (uint64_t)i);
    push(gpu, &a);
    return a;
}

struct ct_arr ct_levels(struct kurc_backend *gpu, int64_t n, uint64_t seed, int levels) {
    struct ct_arr a = make(gpu, n);
    for (int64_t i = 0; i < n; i++)
        a.h[i] = floorf((float)levels * kurc_rng_uniform(seed, (uint64_t)i));
    push(gpu, &a);
    return a;
}

struct ct_arr ct_zeros(struct kurc_backend *gpu, int64_t n) {
    return make(gpu, n);
}

void ct_free(struct kurc_backend *gpu, struct ct_arr *a) {
    free(a->h);
    gpu->ops->free(gpu, a->d);
    memset(a, 0, sizeof *a);
}

/* Fails, or prints "ok", for a comparison that found `worst`. */
static void verdict(const char *what, const float *want, const float *got, int64_t n,
                    struct ct_worst worst, double tol, const char *how) {
    if (worst.error > tol)
        fail_msg("%-48s n=%-9lld worst %.2e (tol %.0e, %s) at %lld: cpu %.9g, cuda %.9g", what,
                 (long long)n, worst.error, tol, how, (long long)worst.at, want[worst.at],
                 got[worst.at]);
    print_message("ok   %-48s n=%-9lld worst %.2e (tol %.0e, %s)\n", what, (long long)n,
                  worst.error, tol, how);
}

void ct_close(const char *what, const float *want, const float *got, int64_t n, double tol,
              double floor) {
    verdict(what, want, got, n, ct_compare(want, got, NULL, n, floor), tol, "relative");
}

static float *download(struct kurc_backend *gpu, const struct ct_arr *a) {
    float *got = calloc((size_t)(a->n > 0 ? a->n : 1), sizeof *got);
    if (a->n > 0)
        gpu->ops->download(gpu, got, a->d, (size_t)a->n * sizeof(float));
    return got;
}

void ct_check(struct kurc_backend *gpu, const char *what, const struct ct_arr *a, double tol,
              double floor) {
    float *got = download(gpu, a);
    ct_backend_ok(gpu, what);
    ct_close(what, a->h, got, a->n, tol, floor);
    free(got);
}

void ct_check_mag(struct kurc_backend *gpu, const char *what, const struct ct_arr *a,
                  const float *mag, double tol) {
    float *got = download(gpu, a);
    ct_backend_ok(gpu, what);
    verdict(what, a->h, got, a->n, ct_compare(a->h, got, mag, a->n, 1e-30), tol,
            "of the magnitude summed");
    free(got);
}

void ct_check_increment(struct kurc_backend *gpu, const char *what, const struct ct_arr *a,
                        const float *before, double tol) {
    float *mag = malloc((size_t)(a->n > 0 ? a->n : 1) * sizeof *mag);
    ct_increment_magnitude(before, a->h, mag, a->n);
    ct_check_mag(gpu, what, a, mag, tol);
    free(mag);
}

void ct_check_norm(struct kurc_backend *gpu, const char *what, const struct ct_arr *a, double tol) {
    float *got = download(gpu, a);
    ct_backend_ok(gpu, what);
    double e = ct_compare_norm(a->h, got, a->n, 1e-30);
    if (e > tol)
        fail_msg("%-48s n=%-9lld |cuda - cpu| / |cpu| = %.2e (tol %.0e)", what, (long long)a->n,
                 e, tol);
    print_message("ok   %-48s n=%-9lld |cuda - cpu| / |cpu| = %.2e (tol %.0e)\n", what,
                  (long long)a->n, e, tol);
    free(got);
}

float *ct_absolute(const float *x, int64_t n) {
    float *a = malloc((size_t)(n > 0 ? n : 1) * sizeof *a);
    for (int64_t i = 0; i < n; i++)
        a[i] = fabsf(x[i]);
    return a;
}

void ct_check_bits(struct kurc_backend *gpu, const char *what, const struct ct_arr *a, bool exact,
                   double tol) {
    float *got = download(gpu, a);
    bool same = memcmp(got, a->h, (size_t)a->n * sizeof(float)) == 0;
    char label[160];
    snprintf(label, sizeof label, "%s [%s]", what, same ? "bitwise equal" : "not bitwise");
    ct_backend_ok(gpu, what);
    ct_close(label, a->h, got, a->n, exact ? 0 : tol, 1e-6);
    free(got);
    if (exact && !same)
        fail_msg("%s: must equal the CPU's bit for bit", what);
}

void ct_backend_ok(struct kurc_backend *gpu, const char *what) {
    struct kurc_err err;
    if (kurc_backend_check(gpu, &err) != KURC_OK)
        fail_msg("%s: %s", what, err.msg);
}
