/* rng.h - kurc's counter-based random numbers (Philox4x32-10).
 *
 * Every random number kurc draws (weight initialisation, shuffling, dropout
 * masks) is a pure function of (seed, index): no generator state to carry,
 * the same value on any machine, any rank count and any backend.  Philox
 * (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC 2011)
 * is the generator cuRAND uses; the functions are inline so the CUDA
 * kernels compile the same code.
 */
#ifndef KURC_RNG_H
#define KURC_RNG_H

#include <math.h>
#include <stdint.h>

#ifdef __CUDACC__
#define KURC_HOST_DEVICE __host__ __device__
#else
#define KURC_HOST_DEVICE
#endif

/* The four 32-bit words Philox4x32-10 makes from counter (index) and key
 * (seed). */
static inline KURC_HOST_DEVICE void kurc_philox(uint64_t seed, uint64_t index, uint32_t out[4]) {
    uint32_t c0 = (uint32_t)index, c1 = (uint32_t)(index >> 32), c2 = 0, c3 = 0;
    uint32_t k0 = (uint32_t)seed, k1 = (uint32_t)(seed >> 32);
    for (int round = 0; round < 10; round++) {
        uint64_t p0 = (uint64_t)0xD2511F53u * c0;
        uint64_t p1 = (uint64_t)0xCD9E8D57u * c2;
        uint32_t n0 = (uint32_t)(p1 >> 32) ^ c1 ^ k0;
        uint32_t n2 = (uint32_t)(p0 >> 32) ^ c3 ^ k1;
        c1 = (uint32_t)p1;
        c3 = (uint32_t)p0;
        c0 = n0;
        c2 = n2;
        k0 += 0x9E3779B9u;
        k1 += 0xBB67AE85u;
    }
    out[0] = c0;
    out[1] = c1;
    out[2] = c2;
    out[3] = c3;
}

/* A uniform float in [0, 1) with 24 random bits. */
static inline KURC_HOST_DEVICE float kurc_rng_uniform(uint64_t seed, uint64_t index) {
    uint32_t w[4];
    kurc_philox(seed, index, w);
    return (float)(w[0] >> 8) * (1.0f / 16777216.0f);
}

/* A uniform 64-bit integer. */
static inline KURC_HOST_DEVICE uint64_t kurc_rng_u64(uint64_t seed, uint64_t index) {
    uint32_t w[4];
    kurc_philox(seed, index, w);
    return ((uint64_t)w[1] << 32) | w[0];
}

/* A standard normal (Box-Muller on two 32-bit uniforms, in double). */
static inline KURC_HOST_DEVICE double kurc_rng_normal(uint64_t seed, uint64_t index) {
    uint32_t w[4];
    kurc_philox(seed, index, w);
    double u1 = ((double)w[0] + 1.0) * (1.0 / 4294967297.0); /* (0, 1] */
    double u2 = (double)w[1] * (1.0 / 4294967296.0);
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

/* Derives an independent seed for a named purpose (a parameter, an epoch's
 * shuffle, a dropout layer) from a base seed and a 64-bit tag. */
static inline KURC_HOST_DEVICE uint64_t kurc_rng_derive(uint64_t seed, uint64_t tag) {
    return kurc_rng_u64(seed ^ 0x5851F42D4C957F2Dull, tag);
}

#endif
