/* lru.h - the bookkeeping of a fixed-size cache of keyed entries with
 * least-recently-used replacement, apart from what the entries hold, so
 * that it can be tested without the library whose objects they are (the
 * CUDA backend's cuDNN convolution plans, kernels/cuda/conv.c).
 *
 * Keys are arrays of key_len int64.  The caller owns the arrays (keys:
 * capacity x key_len, stamps: capacity) and its entries, slot i of its
 * own array going with slot i here.  find() returns the slot of a key and
 * marks it used; claim() returns the slot a new key takes - a free one,
 * else the least recently used, whose entry the caller must release first
 * (*evicted says so). */
#ifndef KURC_LRU_H
#define KURC_LRU_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

struct kurc_lru {
    int capacity;
    int key_len;
    int count;       /* slots 0 .. count-1 hold keys */
    uint64_t clock;  /* the last stamp given */
    int64_t *keys;   /* capacity x key_len */
    uint64_t *stamp; /* capacity: when each slot was last used */
};

static inline void kurc_lru_touch(struct kurc_lru *l, int slot) {
    l->stamp[slot] = ++l->clock;
}

/* The slot holding key (marked used), or -1. */
static inline int kurc_lru_find(struct kurc_lru *l, const int64_t *key) {
    for (int i = 0; i < l->count; i++)
        if (memcmp(l->keys + (size_t)i * l->key_len, key, (size_t)l->key_len * sizeof *key) ==
            0) {
            kurc_lru_touch(l, i);
            return i;
        }
    return -1;
}

/* The slot key now holds (marked used): a free one, else the least
 * recently used one, with *evicted set (its old entry is to be released). */
static inline int kurc_lru_claim(struct kurc_lru *l, const int64_t *key, bool *evicted) {
    int slot = l->count;
    *evicted = l->count == l->capacity;
    if (*evicted) {
        slot = 0;
        for (int i = 1; i < l->count; i++)
            if (l->stamp[i] < l->stamp[slot])
                slot = i;
    } else {
        l->count++;
    }
    memcpy(l->keys + (size_t)slot * l->key_len, key, (size_t)l->key_len * sizeof *key);
    kurc_lru_touch(l, slot);
    return slot;
}

/* The key of a slot below count. */
static inline const int64_t *kurc_lru_key(const struct kurc_lru *l, int slot) {
    return l->keys + (size_t)slot * l->key_len;
}

#endif
