/* cifar.c - the `cifar` supplier: CIFAR-10 batches read in place from the
 * distribution archive, as Kur's kur/supplier/cifar.py reads them.
 *
 * The archive is fetched with the standard packaging keys (url, checksum,
 * path; package.h) and read member by member with libarchive (tar, with
 * gzip, bzip2 or xz compression; nothing is extracted to disk), after the
 * compressed stream has been checked to its end (compressed.h).  Two
 * layouts are recognised by member name, wherever they sit in the tree:
 *   python  data_batch_N, test_batch: pickles of {data: uint8 array
 *           (n, 3072), labels: list of n ints} (cifar-10-python.tar.gz),
 *           read with the restricted pickle reader (pickle_read.h);
 *   binary  data_batch_N.bin, test_batch.bin: records of 1 label byte and
 *           3072 pixel bytes (cifar-10-binary.tar.gz).
 * Pixels are planar: 1024 red, 1024 green, 1024 blue, each row-major 32x32.
 *
 * `parts` picks batches: a number N (data_batch_N), "test", or a list of
 * them, loaded in the order given.  Omitted or null, it means the five
 * training batches 1 to 5 (Kur fails without parts although its docs
 * promise all of them; kurc leaves the test batch out of that default so
 * that the default is a training set).
 *
 * Sources, as Kur makes them:
 *   images  (32, 32, 3) float32: pixel minus the mean of that pixel
 *           position and channel over every loaded image, divided by 255,
 *           then moved from channels-first to channels-last;
 *   labels  (10,) one-hot float32.
 * The per-feature sums of up to 60000 bytes are exact in float32, so the
 * means and the normalised values are bit-identical to numpy's.
 *
 * describe (build) walks the same members with the same checks but counts
 * images without decoding them: a binary batch from its member's size (its
 * bytes are skipped), a python batch from its pickle's array and labels
 * (the labels' classes are not checked); nothing is normalised.  A label
 * that is not a class is found by load (train).
 */
#include <archive.h>
#include <archive_entry.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/memory.h"
#include "base/xalloc.h"
#include "data/dataset.h"
#include "data/package.h"
#include "data/supplier.h"
#include "formats/compressed.h"
#include "formats/pickle_read.h"

enum {
    SIDE = 32,
    PLANE = SIDE * SIDE,
    FEATURES = 3 * PLANE, /* bytes of one image */
    CLASSES = 10,
    MAX_MEMBER = 512 << 20, /* a real batch member is about 30 MB */
};

/* One requested batch and, once found, its contents. */
struct part {
    char key[24];   /* "1" for data_batch_1, "test" for test_batch */
    char *member;   /* the archive member it was read from (NULL: not found) */
    unsigned char *pixels; /* n x FEATURES */
    unsigned char *labels; /* n */
    int64_t n;
};

/* Prefixes a failed call's message with "cifar: " and gives it the
 * supplier's place when it has none. */
static enum kurc_status tagged(struct kurc_err *err, const struct kurc_loc *where) {
    kurc_err_prefix(err, "cifar: ");
    return kurc_err_place(err, where);
}

static bool all_digits(const char *s, size_t n) {
    if (n == 0)
        return false;
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return true;
}

/* Adds one entry of `parts` (an int or a string) to the list. */
static enum kurc_status add_part(const struct kurc_value *v, struct part *parts, size_t *n,
                                 struct kurc_err *err) {
    char key[24];
    if (v->kind == KURC_INT)
        snprintf(key, sizeof key, "%lld", (long long)v->u.i);
    else if (v->kind == KURC_STR && v->u.str.len < sizeof key)
        snprintf(key, sizeof key, "%s", v->u.str.s);
    else
        return kurc_err_set(err, KURC_E_CONFIG, &v->loc,
                            "cifar: a part is a batch number (1 to 5) or \"test\", not %s",
                            kurc_kind_phrase(v->kind));
    if (strcmp(key, "test") != 0 && !all_digits(key, strlen(key)))
        return kurc_err_set(err, KURC_E_CONFIG, &v->loc,
                            "cifar: part %s%s%s is not a batch number (1 to 5) or \"test\"",
                            v->kind == KURC_STR ? "\"" : "", key, v->kind == KURC_STR ? "\"" : "");
    for (size_t i = 0; i < *n; i++)
        if (strcmp(parts[i].key, key) == 0)
            return kurc_err_set(err, KURC_E_CONFIG, &v->loc, "cifar: part %s is listed twice",
                                key);
    memset(&parts[*n], 0, sizeof parts[*n]);
    memcpy(parts[*n].key, key, sizeof key);
    ++*n;
    return KURC_OK;
}

/* The requested parts, in order (1 to 5 when `parts` is absent or null). */
static enum kurc_status parse_parts(const struct kurc_value *params, struct part **parts,
                                    size_t *n, struct kurc_err *err) {
    const struct kurc_value *v = kurc_map_get(params, "parts");
    *n = 0;
    if (!v || v->kind == KURC_NULL) {
        *parts = kurc_xcalloc(5, sizeof **parts);
        for (int i = 0; i < 5; i++)
            snprintf((*parts)[i].key, sizeof (*parts)[i].key, "%d", i + 1);
        *n = 5;
        return KURC_OK;
    }
    size_t count = v->kind == KURC_LIST ? v->u.list.len : 1;
    if (count == 0)
        return kurc_err_set(err, KURC_E_CONFIG, &v->loc, "cifar: \"parts\" is an empty list");
    *parts = kurc_xcalloc(count, sizeof **parts);
    for (size_t i = 0; i < count; i++) {
        enum kurc_status st =
            add_part(v->kind == KURC_LIST ? v->u.list.items[i] : v, *parts, n, err);
        if (st)
            return st;
    }
    return KURC_OK;
}

/* The batch a member holds: its part key and whether it is the binary
 * layout; false for members that are not batches. */
static bool classify(const char *pathname, char key[24], bool *binary) {
    const char *base = strrchr(pathname, '/') ? strrchr(pathname, '/') + 1 : pathname;
    size_t n = strlen(base);
    *binary = n > 4 && strcmp(base + n - 4, ".bin") == 0;
    if (*binary)
        n -= 4;
    if (n == strlen("test_batch") && strncmp(base, "test_batch", n) == 0) {
        strcpy(key, "test");
        return true;
    }
    const char *prefix = "data_batch_";
    size_t plen = strlen(prefix);
    if (n > plen && n - plen < 24 && strncmp(base, prefix, plen) == 0 &&
        all_digits(base + plen, n - plen)) {
        memcpy(key, base + plen, n - plen);
        key[n - plen] = '\0';
        return true;
    }
    return false;
}

/* Refuses a member whose header declares more than MAX_MEMBER bytes. */
static enum kurc_status check_member_size(const char *archive_path, const char *member,
                                          int64_t size_hint, struct kurc_err *err) {
    if (size_hint > MAX_MEMBER)
        return kurc_err_set(err, KURC_E_DATA, NULL,
                            "%s: member %s is larger than %d MiB (%lld bytes); not a CIFAR batch",
                            archive_path, member, MAX_MEMBER >> 20, (long long)size_hint);
    return KURC_OK;
}

/* Reads the current member's bytes (at most MAX_MEMBER); size_hint is the
 * size its header gives, or 0.  A member whose header declares more than
 * MAX_MEMBER or the memory available is refused before it is read. */
static enum kurc_status read_member(struct archive *a, const char *archive_path,
                                    const char *member, int64_t size_hint, unsigned char **data,
                                    size_t *len, struct kurc_err *err) {
    enum kurc_status too_large = check_member_size(archive_path, member, size_hint, err);
    if (too_large)
        return too_large;
    char what[300];
    snprintf(what, sizeof what, "member %.120s of %.120s", member, archive_path);
    enum kurc_status checked =
        kurc_memory_check(size_hint > 0 ? (uint64_t)size_hint : 0, KURC_E_DATA, what, err);
    if (checked)
        return checked;
    size_t cap = size_hint > 0 ? (size_t)size_hint + 1 : 1 << 20;
    size_t n = 0;
    unsigned char *buf = kurc_xmalloc(cap);
    for (;;) {
        if (n == cap) {
            if (cap >= (size_t)MAX_MEMBER) {
                free(buf);
                return kurc_err_set(err, KURC_E_DATA, NULL,
                                    "%s: member %s is larger than %d MiB; not a CIFAR batch",
                                    archive_path, member, MAX_MEMBER >> 20);
            }
            cap = cap * 2 < (size_t)MAX_MEMBER ? cap * 2 : (size_t)MAX_MEMBER;
            buf = kurc_xrealloc(buf, cap);
        }
        la_ssize_t got = archive_read_data(a, buf + n, cap - n);
        if (got < 0) {
            enum kurc_status st =
                kurc_err_set(err, KURC_E_DATA, NULL, "%s: cannot read member %s: %s",
                             archive_path, member, archive_error_string(a));
            free(buf);
            return st;
        }
        if (got == 0)
            break;
        n += (size_t)got;
    }
    *data = buf;
    *len = n;
    return KURC_OK;
}

/* A python-layout batch: the pickle's data array and labels list (when
 * shapes_only, only their count, the labels' classes unchecked). */
static enum kurc_status parse_pickle(const unsigned char *bytes, size_t len, const char *name,
                                     bool shapes_only, struct part *p, struct kurc_err *err) {
    struct kurc_pickle_doc *doc;
    enum kurc_status st = (shapes_only ? kurc_pickle_scan : kurc_pickle_load)(bytes, len, name,
                                                                              &doc, err);
    if (st)
        return st;
    const struct kurc_pickle *root = kurc_pickle_root(doc);
    const struct kurc_pickle *data = kurc_pickle_dict_get(root, "data");
    const struct kurc_pickle *labels = kurc_pickle_dict_get(root, "labels");
    if (root->kind != KURC_PICKLE_DICT)
        st = kurc_err_set(err, KURC_E_DATA, NULL, "%s: the pickle holds a %s, not a dict", name,
                          kurc_pickle_kind_name(root->kind));
    else if (!data || !labels)
        st = kurc_err_set(err, KURC_E_DATA, NULL, "%s: the pickled dict has no '%s' entry", name,
                          data ? "labels" : "data");
    else if (data->kind != KURC_PICKLE_ARRAY || data->u.array.dtype.kind != 'u' ||
             data->u.array.dtype.itemsize != 1 || data->u.array.ndim != 2 ||
             data->u.array.dim[1] != FEATURES)
        st = kurc_err_set(err, KURC_E_DATA, NULL,
                          "%s: 'data' must be a uint8 numpy array of shape (n, %d)", name,
                          FEATURES);
    else if (labels->kind != KURC_PICKLE_LIST || (int64_t)labels->u.seq.len != data->u.array.dim[0])
        st = kurc_err_set(err, KURC_E_DATA, NULL,
                          "%s: 'labels' must be a list of %lld ints, one per image", name,
                          (long long)data->u.array.dim[0]);
    if (st) {
        kurc_pickle_doc_free(doc);
        return st;
    }
    p->n = data->u.array.dim[0];
    if (shapes_only) {
        kurc_pickle_doc_free(doc);
        return KURC_OK;
    }
    p->labels = kurc_xmalloc(p->n ? (size_t)p->n : 1);
    for (int64_t i = 0; i < p->n && st == KURC_OK; i++) {
        const struct kurc_pickle *l = labels->u.seq.items[i];
        if (l->kind != KURC_PICKLE_INT || l->u.i < 0 || l->u.i >= CLASSES)
            st = kurc_err_set(err, KURC_E_DATA, NULL,
                              "%s: label %lld is not a class from 0 to 9", name, (long long)i);
        else
            p->labels[i] = (unsigned char)l->u.i;
    }
    if (st == KURC_OK) {
        p->pixels = kurc_xmalloc(data->u.array.nbytes ? data->u.array.nbytes : 1);
        memcpy(p->pixels, data->u.array.data, data->u.array.nbytes);
    }
    kurc_pickle_doc_free(doc);
    return st;
}

/* The number of records in a binary-layout batch of len bytes. */
static enum kurc_status count_binary(size_t len, const char *name, struct part *p,
                                     struct kurc_err *err) {
    if (len % (FEATURES + 1))
        return kurc_err_set(err, KURC_E_DATA, NULL,
                            "%s: %zu bytes is not a whole number of %d-byte records", name, len,
                            FEATURES + 1);
    p->n = (int64_t)(len / (FEATURES + 1));
    return KURC_OK;
}

/* A binary-layout batch: records of a label byte and FEATURES pixels. */
static enum kurc_status parse_binary(const unsigned char *bytes, size_t len, const char *name,
                                     struct part *p, struct kurc_err *err) {
    enum kurc_status st = count_binary(len, name, p, err);
    if (st)
        return st;
    p->labels = kurc_xmalloc(p->n ? (size_t)p->n : 1);
    p->pixels = kurc_xmalloc(p->n ? (size_t)p->n * FEATURES : 1);
    for (int64_t i = 0; i < p->n; i++) {
        const unsigned char *rec = bytes + i * (FEATURES + 1);
        if (rec[0] >= CLASSES)
            return kurc_err_set(err, KURC_E_DATA, NULL,
                                "%s: label %d of record %lld is not a class from 0 to 9", name,
                                rec[0], (long long)i);
        p->labels[i] = rec[0];
        memcpy(p->pixels + i * FEATURES, rec + 1, FEATURES);
    }
    return KURC_OK;
}

/* Reads every requested part from the archive at path (when shapes_only,
 * their counts: see the top of the file).  Errors name the archive and,
 * for a bad batch, the member. */
static enum kurc_status read_archive(const char *path, struct part *parts, size_t nparts,
                                     bool shapes_only, struct kurc_err *err) {
    struct archive *a = archive_read_new();
    archive_read_support_filter_gzip(a);
    archive_read_support_filter_bzip2(a);
    archive_read_support_filter_xz(a);
    archive_read_support_format_tar(a);
    enum kurc_status st = KURC_OK;
    if (archive_read_open_filename(a, path, 1 << 16) != ARCHIVE_OK) {
        struct stat sb; /* a readable file that libarchive refuses is not an archive */
        bool readable = stat(path, &sb) == 0 && S_ISREG(sb.st_mode) && access(path, R_OK) == 0;
        st = readable
                 ? kurc_err_set(err, KURC_E_DATA, NULL, "%s: not a readable tar archive: %s",
                                path, archive_error_string(a))
                 : kurc_err_set(err, KURC_E_IO, NULL, "cannot read archive %s: %s", path,
                                archive_error_string(a));
        archive_read_free(a);
        return st;
    }
    struct archive_entry *entry;
    int r;
    while (st == KURC_OK && (r = archive_read_next_header(a, &entry)) == ARCHIVE_OK) {
        const char *member = archive_entry_pathname(entry);
        char key[24];
        bool binary;
        if (archive_entry_filetype(entry) != AE_IFREG || !member ||
            !classify(member, key, &binary))
            continue;
        struct part *p = NULL;
        for (size_t i = 0; i < nparts && !p; i++)
            if (strcmp(parts[i].key, key) == 0)
                p = &parts[i];
        if (!p)
            continue;
        if (p->member) {
            st = kurc_err_set(err, KURC_E_DATA, NULL, "%s: part %s appears twice: %s and %s",
                              path, key, p->member, member);
            break;
        }
        p->member = kurc_xstrdup(member);
        unsigned char *bytes = NULL;
        size_t len = 0;
        bool sized = archive_entry_size_is_set(entry);
        int64_t size = sized ? archive_entry_size(entry) : 0;
        char *name = kurc_xasprintf("%s:%s", path, member);
        if (shapes_only && binary && sized) {
            st = check_member_size(path, member, size, err);
            if (st == KURC_OK)
                st = count_binary((size_t)size, name, p, err);
        } else if ((st = read_member(a, path, member, size, &bytes, &len, err)) == KURC_OK) {
            st = binary ? parse_binary(bytes, len, name, p, err)
                        : parse_pickle(bytes, len, name, shapes_only, p, err);
        }
        free(name);
        free(bytes);
    }
    if (st == KURC_OK && r != ARCHIVE_EOF)
        st = kurc_err_set(err, KURC_E_DATA, NULL, "%s: not a readable tar archive: %s", path,
                          archive_error_string(a));
    archive_read_free(a);
    for (size_t i = 0; i < nparts && st == KURC_OK; i++)
        if (!parts[i].member) {
            bool test = strcmp(parts[i].key, "test") == 0;
            const char *stem = test ? "test_batch" : "data_batch_";
            const char *num = test ? "" : parts[i].key;
            st = kurc_err_set(err, KURC_E_DATA, NULL,
                              "%s has no CIFAR batch for part %s (no member %s%s or %s%s.bin)",
                              path, parts[i].key, stem, num, stem, num);
        }
    return st;
}

/* Adds the sources of total images (their values NULL for describe). */
static enum kurc_status add_sources(struct kurc_dataset *out, int64_t total, float *images,
                                    float *hot, const char *path, struct kurc_err *err) {
    struct kurc_shape image_shape = kurc_shape_make(3, (const int64_t[]){SIDE, SIDE, 3});
    struct kurc_shape label_shape = kurc_shape_make(1, (const int64_t[]){CLASSES});
    enum kurc_status st = kurc_dataset_add(out, "images", &image_shape, total, images, path, err);
    if (st == KURC_OK)
        st = kurc_dataset_add(out, "labels", &label_shape, total, hot, path, err);
    else
        free(hot);
    return st;
}

/* Kur's _normalize and _onehot over the parts, in order (when shapes_only,
 * only the sources' shapes and count). */
static enum kurc_status build_sources(const struct part *parts, size_t nparts, const char *path,
                                      bool shapes_only, const struct kurc_loc *where,
                                      struct kurc_dataset *out, struct kurc_err *err) {
    int64_t total = 0;
    for (size_t i = 0; i < nparts; i++)
        total += parts[i].n;
    if (shapes_only)
        return add_sources(out, total, NULL, NULL, path, err);
    float *images = malloc(total ? (size_t)total * FEATURES * sizeof(float) : 1);
    float *hot = calloc(total ? (size_t)total * CLASSES : 1, sizeof(float));
    double *sum = kurc_xcalloc(FEATURES, sizeof *sum);
    if (!images || !hot) {
        free(images);
        free(hot);
        free(sum);
        return kurc_err_set(err, KURC_E_DATA, where, "cifar: out of memory for %lld images",
                            (long long)total);
    }
    for (size_t i = 0; i < nparts; i++)
        for (int64_t s = 0; s < parts[i].n; s++)
            for (int f = 0; f < FEATURES; f++)
                sum[f] += parts[i].pixels[s * FEATURES + f];
    float mean[FEATURES];
    for (int f = 0; f < FEATURES; f++)
        mean[f] = total ? (float)sum[f] / (float)total : 0.0f;
    free(sum);
    int64_t row = 0;
    for (size_t i = 0; i < nparts; i++)
        for (int64_t s = 0; s < parts[i].n; s++, row++) {
            const unsigned char *px = parts[i].pixels + s * FEATURES;
            float *img = images + row * FEATURES;
            for (int c = 0; c < 3; c++)
                for (int hw = 0; hw < PLANE; hw++) {
                    int f = c * PLANE + hw;
                    img[hw * 3 + c] = ((float)px[f] - mean[f]) / 255.0f;
                }
            hot[row * CLASSES + parts[i].labels[s]] = 1.0f;
        }
    return add_sources(out, total, images, hot, path, err);
}

/* load (every image decoded) or, when shapes_only, describe. */
static enum kurc_status read_source(const struct kurc_value *params, const struct kurc_loc *where,
                                    bool shapes_only, struct kurc_dataset *out,
                                    struct kurc_err *err) {
    if (params->kind != KURC_MAP)
        return kurc_err_set(err, KURC_E_CONFIG, where,
                            "cifar: expected a mapping with url, checksum, path and parts");
    struct part *parts = NULL;
    size_t nparts = 0;
    char *path = NULL;
    enum kurc_status st = parse_parts(params, &parts, &nparts, err);
    if (st == KURC_OK && (st = kurc_package_fetch(params, &path, err)) == KURC_OK &&
        (st = kurc_compressed_check(path, err)) == KURC_OK &&
        (st = read_archive(path, parts, nparts, shapes_only, err)) == KURC_OK)
        st = build_sources(parts, nparts, path, shapes_only, where, out, err);
    if (st != KURC_OK && strncmp(err->msg, "cifar: ", 7) != 0)
        st = tagged(err, where);
    for (size_t i = 0; i < nparts; i++) {
        free(parts[i].member);
        free(parts[i].pixels);
        free(parts[i].labels);
    }
    free(parts);
    free(path);
    return st;
}

static enum kurc_status load(const struct kurc_value *params, const struct kurc_loc *where,
                             struct kurc_dataset *out, struct kurc_err *err) {
    return read_source(params, where, false, out, err);
}

static enum kurc_status describe(const struct kurc_value *params, const struct kurc_loc *where,
                                 struct kurc_dataset *out, struct kurc_err *err) {
    return read_source(params, where, true, out, err);
}

const struct kurc_supplier_type kurc_supplier_cifar = {
    .component = {"cifar",
                  KURC_SCHEMA(.types = KT_MAP,
                              .keys = KURC_KEYS(KURC_PACKAGING_KEYS,
                                                {"parts", KURC_SCHEMA(.types = KT_INT | KT_STR |
                                                                               KT_LIST)})),
                  KURC_NAMES("url", "checksum", "path", "parts")},
    .load = load,
    .describe = describe,
};
