/* utf8.c - UTF-8 decoding and encoding (see utf8.h). */
#include "base/utf8.h"

/* Decodes s as utf8.h says; a lead byte from first_lead up to last_lead
 * starts a sequence (the rest are ill-formed), and with strict set the
 * second byte's range excludes overlong forms, surrogates and code points
 * above U+10FFFF. */
static size_t decode(const unsigned char *s, size_t avail, bool strict, uint32_t *cp) {
    unsigned char c = s[0];
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    unsigned char first_lead = strict ? 0xC2 : 0xC0, last_lead = strict ? 0xF4 : 0xF7;
    if (c < first_lead || c > last_lead) {
        *cp = KURC_UTF8_BAD;
        return 1;
    }
    size_t n = c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
    uint32_t v = c & (0x7F >> n);
    unsigned char lo = 0x80, hi = 0xBF; /* the second byte's range */
    if (strict) {
        if (c == 0xE0)
            lo = 0xA0; /* no overlong forms */
        else if (c == 0xED)
            hi = 0x9F; /* no surrogates */
        else if (c == 0xF0)
            lo = 0x90;
        else if (c == 0xF4)
            hi = 0x8F; /* nothing above U+10FFFF */
    }
    for (size_t i = 1; i < n; i++) {
        unsigned char b = i < avail ? s[i] : 0;
        if (b < (i == 1 ? lo : 0x80) || b > (i == 1 ? hi : 0xBF)) {
            *cp = KURC_UTF8_BAD;
            return i;
        }
        v = v << 6 | (b & 0x3F);
    }
    *cp = v;
    return n;
}

size_t kurc_utf8_decode(const char *s, size_t avail, uint32_t *cp) {
    return decode((const unsigned char *)s, avail, false, cp);
}

size_t kurc_utf8_decode_strict(const char *s, size_t avail, uint32_t *cp) {
    return decode((const unsigned char *)s, avail, true, cp);
}

size_t kurc_utf8_next(const char *s, size_t len, size_t i, uint32_t *cp) {
    size_t n = kurc_utf8_decode(s + i, len - i, cp);
    if (*cp != KURC_UTF8_BAD)
        return i + n;
    *cp = 0xDC00 + (unsigned char)s[i];
    return i + 1;
}

size_t kurc_utf8_count(const char *s, size_t len) {
    size_t n = 0;
    for (size_t i = 0; i < len; n++) {
        uint32_t cp;
        i = kurc_utf8_next(s, len, i, &cp);
    }
    return n;
}

void kurc_utf8_put(struct kurc_strbuf *sb, uint32_t cp) {
    char b[4];
    size_t n = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
    static const unsigned char lead[5] = {0, 0, 0xC0, 0xE0, 0xF0};
    for (size_t i = n - 1; i > 0; i--, cp >>= 6)
        b[i] = (char)(0x80 | (cp & 0x3F));
    b[0] = (char)(lead[n] | cp);
    kurc_strbuf_append(sb, b, n);
}
