/* dataset_digest.c - a 64-bit digest of a dataset's contents (SHA-256 of
 * every source's name, shape, lengths, vocabulary and values, cut to 64
 * bits), which ranks compare at start-up so that ranks reading different
 * files of the same size do not train together. */
#include "data/dataset.h"

#include <string.h>

#include <openssl/evp.h>

/* Feeds a string with its terminating NUL (so "ab","c" differs from "a","bc"). */
static int put_string(EVP_MD_CTX *ctx, const char *s) {
    return EVP_DigestUpdate(ctx, s ? s : "", strlen(s ? s : "") + 1);
}

/* Feeds the values of source s: data, and for ragged sources the lengths. */
static int put_source(EVP_MD_CTX *ctx, const struct kurc_source *s) {
    int ok = put_string(ctx, s->name);
    ok = ok && EVP_DigestUpdate(ctx, &s->shape.ndim, sizeof s->shape.ndim);
    ok = ok && EVP_DigestUpdate(ctx, s->shape.dim, (size_t)s->shape.ndim * sizeof *s->shape.dim);
    ok = ok && EVP_DigestUpdate(ctx, &s->count, sizeof s->count);
    size_t floats = (size_t)(s->count * kurc_shape_numel(&s->shape));
    if (s->lengths) {
        ok = ok && EVP_DigestUpdate(ctx, s->lengths, (size_t)s->count * sizeof *s->lengths);
        floats = 0;
        for (int64_t i = 0; i < s->count; i++)
            floats += (size_t)(s->lengths[i] * kurc_source_inner(s));
    }
    if (floats)
        ok = ok && EVP_DigestUpdate(ctx, s->data, floats * sizeof *s->data);
    for (size_t i = 0; i < s->n_vocab; i++)
        ok = ok && put_string(ctx, s->vocab[i]);
    return ok;
}

uint64_t kurc_dataset_digest(const struct kurc_dataset *d) {
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int ok = ctx && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1;
    for (size_t i = 0; d && ok && i < d->n; i++)
        ok = put_source(ctx, &d->sources[i]);
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    ok = ok && EVP_DigestFinal_ex(ctx, digest, &len) == 1 && len >= 8;
    EVP_MD_CTX_free(ctx);
    uint64_t h = 0;
    memcpy(&h, digest, sizeof h);
    return ok ? h : 0;
}
