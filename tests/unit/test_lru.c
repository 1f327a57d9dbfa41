/* test_lru.c - the replacement policy of the CUDA backend's convolution
 * plan cache (kernels/common/lru.h), without a GPU: free slots first,
 * then the least recently used, a lookup counting as a use, and an
 * endless stream of new keys (speech batches of ever new lengths) never
 * running out of slots. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "kernels/common/lru.h"

#define CAP 4
#define LEN 3

struct cache {
    struct kurc_lru lru;
    int64_t keys[CAP * LEN];
    uint64_t stamp[CAP];
};

static void init(struct cache *c) {
    *c = (struct cache){0};
    c->lru = (struct kurc_lru){.capacity = CAP, .key_len = LEN, .keys = c->keys, .stamp = c->stamp};
}

/* The key (geometry) number i: a batch and a length. */
static const int64_t *key(int64_t i) {
    static int64_t k[LEN];
    k[0] = 2;
    k[1] = 32;
    k[2] = i;
    return k;
}

static int claim(struct cache *c, int64_t i, bool want_evicted) {
    bool evicted = !want_evicted;
    int slot = kurc_lru_claim(&c->lru, key(i), &evicted);
    assert_int_equal(evicted, want_evicted);
    assert_int_equal(kurc_lru_find(&c->lru, key(i)), slot);
    return slot;
}

static void test_free_slots_first(void **state) {
    (void)state;
    struct cache c;
    init(&c);
    for (int i = 0; i < CAP; i++)
        assert_int_equal(claim(&c, i, false), i);
    assert_int_equal(c.lru.count, CAP);
    assert_int_equal(kurc_lru_find(&c.lru, key(99)), -1);
}

static void test_least_recently_used(void **state) {
    (void)state;
    struct cache c;
    init(&c);
    for (int i = 0; i < CAP; i++)
        claim(&c, i, false);
    /* use 0 and 2 again: 1 is now the least recently used, then 3 */
    assert_int_equal(kurc_lru_find(&c.lru, key(0)), 0);
    assert_int_equal(kurc_lru_find(&c.lru, key(2)), 2);
    assert_int_equal(claim(&c, 10, true), 1);
    assert_int_equal(kurc_lru_find(&c.lru, key(1)), -1);
    assert_int_equal(claim(&c, 11, true), 3);
    assert_int_equal(kurc_lru_find(&c.lru, key(3)), -1);
    /* the survivors are where they were */
    assert_int_equal(kurc_lru_find(&c.lru, key(0)), 0);
    assert_int_equal(kurc_lru_find(&c.lru, key(2)), 2);
    assert_memory_equal(kurc_lru_key(&c.lru, 1), key(10), LEN * sizeof(int64_t));
}

static void test_endless_new_keys(void **state) {
    (void)state;
    struct cache c;
    init(&c);
    /* a model with two geometries used every batch (0, 1) and a new
     * length each batch: the two are never replaced */
    claim(&c, 0, false);
    claim(&c, 1, false);
    for (int64_t len = 100; len < 1100; len++) {
        assert_true(kurc_lru_find(&c.lru, key(0)) >= 0);
        if (kurc_lru_find(&c.lru, key(len)) < 0)
            claim(&c, len, len >= 100 + CAP - 2);
        assert_true(kurc_lru_find(&c.lru, key(1)) >= 0);
    }
    assert_int_equal(c.lru.count, CAP);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_free_slots_first),
        cmocka_unit_test(test_least_recently_used),
        cmocka_unit_test(test_endless_new_keys),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
