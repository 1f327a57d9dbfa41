/* test_utf8.c - base/utf8: the lenient and strict decoders (where an
 * ill-formed sequence ends), surrogateescape reading, counting and
 * encoding. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "base/strbuf.h"
#include "base/utf8.h"

/* Decodes s (n bytes) with both decoders; checks lengths and code points. */
static void expect(const char *s, size_t n, size_t len, uint32_t cp, size_t strict_len,
                   uint32_t strict_cp) {
    uint32_t got;
    assert_int_equal(kurc_utf8_decode(s, n, &got), len);
    assert_int_equal(got, cp);
    assert_int_equal(kurc_utf8_decode_strict(s, n, &got), strict_len);
    assert_int_equal(got, strict_cp);
}

static void test_decode(void **state) {
    (void)state;
    const uint32_t bad = KURC_UTF8_BAD;
    expect("A", 1, 1, 'A', 1, 'A');
    expect("\xc3\xa9", 2, 2, 0xE9, 2, 0xE9);
    expect("\xe2\x82\xac", 3, 3, 0x20AC, 3, 0x20AC);
    expect("\xf0\x9f\x98\x80", 4, 4, 0x1F600, 4, 0x1F600);
    /* a continuation byte, 0xF8-0xFF: one bad byte */
    expect("\x80", 1, 1, bad, 1, bad);
    expect("\xff", 1, 1, bad, 1, bad);
    /* overlong forms and surrogates pass the lenient decoder only */
    expect("\xc0\x80", 2, 2, 0, 1, bad);
    expect("\xe0\x80\x80", 3, 3, 0, 1, bad);
    expect("\xed\xa0\x80", 3, 3, 0xD800, 1, bad);
    expect("\xf4\x90\x80\x80", 4, 4, 0x110000, 1, bad);
    expect("\xf5\x80\x80\x80", 4, 4, 0x140000, 1, bad);
    /* cut short: the lead byte and the continuation bytes that follow */
    expect("\xe2\x82", 2, 2, bad, 2, bad);
    expect("\xe2\x82" "A", 3, 2, bad, 2, bad);
    expect("\xf0\x9f\x98", 3, 3, bad, 3, bad);
}

static void test_next_and_count(void **state) {
    (void)state;
    const char s[] = "a\xc3\xa9\x80\xe2\x82" "b";
    size_t len = sizeof s - 1, i = 0;
    uint32_t cp;
    const uint32_t want[] = {'a', 0xE9, 0xDC80, 0xDCE2, 0xDC82, 'b'};
    for (size_t k = 0; k < sizeof want / sizeof *want; k++) {
        i = kurc_utf8_next(s, len, i, &cp);
        assert_int_equal(cp, want[k]);
    }
    assert_int_equal(i, len);
    assert_int_equal(kurc_utf8_count(s, len), 6);
    assert_int_equal(kurc_utf8_count("", 0), 0);
    assert_true(kurc_utf8_is_cont(0x80) && kurc_utf8_is_cont(0xBF));
    assert_false(kurc_utf8_is_cont('a') || kurc_utf8_is_cont(0xC3));
}

static void test_put(void **state) {
    (void)state;
    struct kurc_strbuf sb = KURC_STRBUF_INIT;
    const uint32_t cps[] = {0, 'A', 0x7F, 0x80, 0x7FF, 0x800, 0xDC80, 0xFFFF, 0x10000, 0x10FFFF};
    for (size_t k = 0; k < sizeof cps / sizeof *cps; k++)
        kurc_utf8_put(&sb, cps[k]);
    const char want[] = "\0A\x7f\xc2\x80\xdf\xbf\xe0\xa0\x80\xed\xb2\x80\xef\xbf\xbf"
                        "\xf0\x90\x80\x80\xf4\x8f\xbf\xbf";
    assert_int_equal(sb.len, sizeof want - 1);
    assert_memory_equal(sb.data, want, sb.len);
    /* and back */
    size_t i = 0;
    for (size_t k = 0; k < sizeof cps / sizeof *cps; k++) {
        uint32_t cp;
        i += kurc_utf8_decode(sb.data + i, sb.len - i, &cp);
        assert_int_equal(cp, cps[k]);
    }
    kurc_strbuf_free(&sb);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decode),
        cmocka_unit_test(test_next_and_count),
        cmocka_unit_test(test_put),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
