/* suggest.c - nearest-name suggestions by Damerau-Levenshtein distance. */
#include "base/suggest.h"

#include <stdlib.h>
#include <string.h>

#define MAX_NAME 64

/* Optimal string alignment distance between a and b (both < MAX_NAME). */
static size_t distance(const char *a, const char *b) {
    size_t n = strlen(a), m = strlen(b);
    static const size_t W = MAX_NAME + 1;
    size_t d[(MAX_NAME + 1) * (MAX_NAME + 1)];
    for (size_t i = 0; i <= n; i++)
        d[i * W] = i;
    for (size_t j = 0; j <= m; j++)
        d[j] = j;
    for (size_t i = 1; i <= n; i++) {
        for (size_t j = 1; j <= m; j++) {
            size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
            size_t best = d[(i - 1) * W + j] + 1;
            if (d[i * W + j - 1] + 1 < best)
                best = d[i * W + j - 1] + 1;
            if (d[(i - 1) * W + j - 1] + cost < best)
                best = d[(i - 1) * W + j - 1] + cost;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
                d[(i - 2) * W + j - 2] + 1 < best)
                best = d[(i - 2) * W + j - 2] + 1;
            d[i * W + j] = best;
        }
    }
    return d[n * W + m];
}

const char *kurc_suggest(const char *word, const char *const *candidates) {
    size_t len = strlen(word);
    if (len == 0 || len >= MAX_NAME)
        return NULL;
    size_t limit = len / 3 > 1 ? len / 3 : 1;
    const char *best = NULL;
    size_t best_d = limit + 1;
    for (const char *const *c = candidates; *c; c++) {
        if (strlen(*c) >= MAX_NAME)
            continue;
        size_t dist = distance(word, *c);
        if (dist < best_d) {
            best_d = dist;
            best = *c;
        }
    }
    return best;
}
