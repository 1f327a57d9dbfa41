/* cudatest.h - helpers of the CUDA tests (cmocka): skipping without a GPU,
 * arrays kept twice (host for the CPU backend, device for the CUDA
 * backend) and comparisons that say where they fail.  A comparison prints
 * "ok   WHAT ..." when it holds and fails the running cmocka test (fail_msg)
 * when it does not. */
#ifndef KURC_CUDATEST_H
#define KURC_CUDATEST_H

#include <stdbool.h>
#include <stdint.h>

#include "core/backend.h"

/* Exits 77 ("skipped: no CUDA device is visible (cudaGetDeviceCount:
 * ...)") when no GPU is visible, which ctest reports as skipped, or 1 when
 * nvidia-smi lists GPUs that CUDA cannot see (gpu_absent.h). */
void ct_require_gpu(void);

/* The CUDA backend on device 0 with TF32 off (exits 1 on failure). */
struct kurc_backend *ct_gpu_backend(void);

/* An array on both sides, equal at creation. */
struct ct_arr {
    int64_t n;
    float *h; /* host: what the CPU backend works on */
    float *d; /* device */
};

/* U(lo, hi) from seed. */
struct ct_arr ct_rand(struct kurc_backend *gpu, int64_t n, uint64_t seed, float lo, float hi);
/* Integers 0 .. levels-1 (ties on purpose). */
struct ct_arr ct_levels(struct kurc_backend *gpu, int64_t n, uint64_t seed, int levels);
struct ct_arr ct_zeros(struct kurc_backend *gpu, int64_t n);
void ct_free(struct kurc_backend *gpu, struct ct_arr *a);

/* Compares the device copy with the host copy: the worst of
 * |gpu - cpu| / max(|cpu|, floor) must be <= tol (the failure names the
 * worst element).  For results of sums prefer ct_check_mag or
 * ct_check_norm: near zero this one fails correct kernels. */
void ct_check(struct kurc_backend *gpu, const char *what, const struct ct_arr *a, double tol,
              double floor);
/* Compares the device copy with the host copy element by element against
 * the magnitude of what was summed into each (tolerance.h): the worst
 * |gpu - cpu| / mag must be <= tol.  mag: the CPU op run on absolute
 * values (and absolute starting values for a slot that accumulates). */
void ct_check_mag(struct kurc_backend *gpu, const char *what, const struct ct_arr *a,
                  const float *mag, double tol);
/* For a slot that accumulates into a, which held `before` (host copy):
 * each element against |before| + |its increment|. */
void ct_check_increment(struct kurc_backend *gpu, const char *what, const struct ct_arr *a,
                        const float *before, double tol);
/* Per tensor: |gpu - cpu|_2 / |cpu|_2 must be <= tol. */
void ct_check_norm(struct kurc_backend *gpu, const char *what, const struct ct_arr *a, double tol);
/* |x|, element by element, in a new host array (free it). */
float *ct_absolute(const float *x, int64_t n);
/* As ct_check, also reporting whether the arrays are equal bit for bit;
 * with exact set, anything else fails. */
void ct_check_bits(struct kurc_backend *gpu, const char *what, const struct ct_arr *a, bool exact,
                   double tol);
/* Compares two host arrays the same way. */
void ct_close(const char *what, const float *want, const float *got, int64_t n, double tol,
              double floor);
/* The backend's check() must be KURC_OK. */
void ct_backend_ok(struct kurc_backend *gpu, const char *what);

#endif
