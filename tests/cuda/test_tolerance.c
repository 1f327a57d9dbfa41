/* test_tolerance.c - the parity tests' comparisons (tolerance.h) against
 * synthetic round-off, without a GPU: sums taken in another order pass
 * where the result cancels to near zero, while a wrong transposition, a
 * lost or doubled increment and a NaN still fail. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "tolerance.h"

#define K 512
#define N 64

/* A uniform value in [-1, 1) from a small linear congruential generator. */
static float uniform(uint64_t *s) {
    *s = *s * 6364136223846793005ull + 1442695040888963407ull;
    return (float)((double)(*s >> 11) / 9007199254740992.0 * 2 - 1);
}

/* C = A B (N x K times K x N) in float, summing over k forwards or
 * backwards (two correct kernels), optionally of B transposed (a wrong
 * one); mag = |A| |B| when given. */
static void product(const float *a, const float *b, float *c, float *mag, bool backwards,
                    bool transposed) {
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++) {
            float s = 0, m = 0;
            for (int t = 0; t < K; t++) {
                int k = backwards ? K - 1 - t : t;
                float bv = transposed ? b[j * K + k] : b[k * N + j];
                s += a[i * K + k] * bv;
                m += fabsf(a[i * K + k]) * fabsf(bv);
            }
            c[i * N + j] = s;
            if (mag)
                mag[i * N + j] = m;
        }
}

/* Random A and B (K = N * 8, so B's storage also reads as N x K), with
 * column 0 of B made to cancel row 0 of A almost exactly. */
static void operands(float *a, float *b) {
    uint64_t s = 42;
    for (int i = 0; i < N * K; i++) {
        a[i] = uniform(&s);
        b[i] = uniform(&s);
    }
    double dot = 0;
    for (int k = 0; k < K - 1; k++)
        dot += (double)a[k] * b[k * N];
    b[(K - 1) * N] = (float)(-dot / a[K - 1]);
}

static void test_sum_order(void **state) {
    (void)state;
    float *a = malloc(sizeof(float) * N * K), *b = malloc(sizeof(float) * N * K);
    float want[N * N], got[N * N], mag[N * N];
    operands(a, b);
    product(a, b, want, mag, false, false);
    product(a, b, got, NULL, true, false);
    /* the cancelled element is tiny, and a relative test fails it ... */
    assert_true(fabsf(want[0]) < 1e-3f * mag[0]);
    assert_true(ct_compare(want, got, NULL, N * N, 1e-30).error > 1e-4);
    /* ... but its error is round-off of what was summed */
    struct ct_worst w = ct_compare(want, got, mag, N * N, 1e-30);
    print_message("sum order: worst %.2e at %lld (naive relative %.2e)\n", w.error,
                  (long long)w.at, ct_compare(want, got, NULL, N * N, 1e-30).error);
    assert_true(w.error < 1e-5);
    assert_true(ct_compare_norm(want, got, N * N, 1e-30) < 1e-5);
    free(a);
    free(b);
}

static void test_wrong_transposition(void **state) {
    (void)state;
    float *a = malloc(sizeof(float) * N * K), *b = malloc(sizeof(float) * N * K);
    float want[N * N], got[N * N], mag[N * N];
    operands(a, b);
    product(a, b, want, mag, false, false);
    product(a, b, got, NULL, false, true);
    assert_true(ct_compare(want, got, mag, N * N, 1e-30).error > 1e-2);
    assert_true(ct_compare_norm(want, got, N * N, 1e-30) > 1e-1);
    free(a);
    free(b);
}

static void test_increment(void **state) {
    (void)state;
    enum { M = 1000 };
    float before[M], inc[M], want[M], good[M], lost[M], twice[M], mag[M];
    uint64_t s = 7;
    for (int i = 0; i < M; i++) {
        before[i] = uniform(&s);
        /* half the increments cancel what was there, to round-off */
        inc[i] = i % 2 ? -before[i] * (1 + 3e-7f) : uniform(&s) * 1e-3f;
        want[i] = before[i] + inc[i];
        good[i] = before[i] + inc[i] * (1 + 1e-6f); /* another order's rounding */
        lost[i] = before[i];
        twice[i] = before[i] + 2 * inc[i];
    }
    ct_increment_magnitude(before, want, mag, M);
    assert_true(ct_compare(want, good, NULL, M, 1e-30).error > 1e-2);
    assert_true(ct_compare(want, good, mag, M, 1e-30).error < 1e-5);
    assert_true(ct_compare(want, lost, mag, M, 1e-30).error > 0.1);
    assert_true(ct_compare(want, twice, mag, M, 1e-30).error > 0.1);
}

static void test_specials(void **state) {
    (void)state;
    const float want[4] = {NAN, INFINITY, -INFINITY, 1};
    const float same[4] = {NAN, INFINITY, -INFINITY, 1};
    const float nan_lost[4] = {0, INFINITY, -INFINITY, 1};
    const float inf_sign[4] = {NAN, -INFINITY, -INFINITY, 1};
    const float nan_made[4] = {NAN, INFINITY, -INFINITY, NAN};
    assert_true(ct_compare(want, same, NULL, 4, 1).error == 0);
    assert_true(ct_compare_norm(want, same, 4, 1) == 0);
    assert_true(isinf(ct_compare(want, nan_lost, NULL, 4, 1).error));
    assert_true(isinf(ct_compare(want, inf_sign, NULL, 4, 1).error));
    assert_true(isinf(ct_compare_norm(want, nan_made, 4, 1)));
    assert_int_equal(ct_compare(want, nan_made, NULL, 4, 1).at, 3);
    assert_int_equal(ct_compare(want, same, NULL, 0, 1).at, -1);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sum_order),
        cmocka_unit_test(test_wrong_transposition),
        cmocka_unit_test(test_increment),
        cmocka_unit_test(test_specials),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
