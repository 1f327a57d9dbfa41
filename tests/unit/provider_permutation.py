#!/usr/bin/env python3
"""provider_permutation.py - an independent transcription of the provider's
epoch permutation, used to pin the known answers in test_provider.c.

Philox4x32-10 as in src/base/rng.h (this transcription reproduces Random123's
published known answer for counter 0, key 0: 6627e8d5 e169c58d bc57ac4c
9b00dbd8), kurc_rng_u64 = word1:word0, kurc_rng_derive, and the provider's
Fisher-Yates: for i = N-1 .. 1 swap i with u64(key, i) mod (i + 1), where
key = derive(seed, epoch).

Run: python3 tests/unit/provider_permutation.py [seed epoch n]
"""
import sys

M = 0xFFFFFFFF


def philox(seed, index):
    c0, c1, c2, c3 = index & M, (index >> 32) & M, 0, 0
    k0, k1 = seed & M, (seed >> 32) & M
    for _ in range(10):
        p0 = 0xD2511F53 * c0
        p1 = 0xCD9E8D57 * c2
        c0, c1, c2, c3 = ((p1 >> 32) ^ c1 ^ k0) & M, p1 & M, ((p0 >> 32) ^ c3 ^ k1) & M, p0 & M
        k0 = (k0 + 0x9E3779B9) & M
        k1 = (k1 + 0xBB67AE85) & M
    return c0, c1, c2, c3


def u64(seed, index):
    w = philox(seed, index)
    return (w[1] << 32) | w[0]


def derive(seed, tag):
    return u64(seed ^ 0x5851F42D4C957F2D, tag)


def permutation(seed, epoch, n):
    key = derive(seed, epoch)
    order = list(range(n))
    for i in range(n - 1, 0, -1):
        j = u64(key, i) % (i + 1)
        order[i], order[j] = order[j], order[i]
    return order


if __name__ == "__main__":
    assert philox(0, 0) == (0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8)
    seed, epoch, n = (int(a) for a in sys.argv[1:4]) if len(sys.argv) == 4 else (1, 0, 10)
    print(permutation(seed, epoch, n))
