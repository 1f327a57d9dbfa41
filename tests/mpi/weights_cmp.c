/* weights_cmp.c - compares two kurc weight files (or checkpoints) dataset
 * by dataset, for the multi-rank tests.
 *
 *   weights_cmp A B            every value bitwise equal
 *   weights_cmp A B TOL        max |a - b| <= TOL * max |a|, both maxima over
 *                              every weight of the file (a weight that
 *                              training leaves at noise level, such as a
 *                              bias before batch normalisation, is judged
 *                              on the model's scale, not its own)
 *
 * Prints the largest difference found (absolute, and relative to the
 * dataset's largest magnitude) and exits 0 when the files agree, 1 when
 * they differ, 2 when they cannot be read or hold different datasets. */
#include <hdf5.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct cmp {
    hid_t b;
    double tol; /* < 0: bitwise */
    int datasets;
    int differ;
    int broken;
    double worst_abs, worst_rel;
    double scale; /* max |a| over the file */
    long long unequal;
    char worst[256];
};

static herr_t visit(hid_t obj, const char *name, const H5O_info_t *info, void *data) {
    struct cmp *c = data;
    if (info->type != H5O_TYPE_DATASET)
        return 0;
    hid_t da = H5Dopen2(obj, name, H5P_DEFAULT);
    hid_t type = H5Dget_type(da);
    H5T_class_t cls = H5Tget_class(type);
    H5Tclose(type);
    if (cls != H5T_FLOAT) { /* counters and strings: compared as bytes */
        H5Dclose(da);
        return 0;
    }
    if (H5Lexists(c->b, name, H5P_DEFAULT) <= 0) {
        fprintf(stderr, "weights_cmp: %s is missing from the second file\n", name);
        c->broken++;
        H5Dclose(da);
        return 0;
    }
    hid_t db = H5Dopen2(c->b, name, H5P_DEFAULT);
    hid_t sa = H5Dget_space(da), sb = H5Dget_space(db);
    hssize_t na = H5Sget_simple_extent_npoints(sa), nb = H5Sget_simple_extent_npoints(sb);
    if (na != nb) {
        fprintf(stderr, "weights_cmp: %s has %lld values in one file, %lld in the other\n", name,
                (long long)na, (long long)nb);
        c->broken++;
    } else if (na > 0) {
        double *va = malloc((size_t)na * sizeof *va), *vb = malloc((size_t)na * sizeof *vb);
        H5Dread(da, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, va);
        H5Dread(db, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, vb);
        double big = 0, diff = 0;
        long long unequal = 0;
        for (hssize_t i = 0; i < na; i++) {
            big = fmax(big, fabs(va[i]));
            diff = fmax(diff, fabs(va[i] - vb[i]));
            if (memcmp(&va[i], &vb[i], sizeof va[i]) != 0)
                unequal++;
        }
        double rel = big > 0 ? diff / big : diff;
        c->scale = fmax(c->scale, big);
        c->unequal += unequal;
        if (isnan(diff))
            c->differ++;
        if (diff > c->worst_abs || (unequal && c->worst[0] == 0)) {
            c->worst_rel = rel;
            c->worst_abs = diff;
            snprintf(c->worst, sizeof c->worst, "%s (%lld of %lld values differ)", name, unequal,
                     (long long)na);
        }
        free(va);
        free(vb);
    }
    c->datasets++;
    H5Sclose(sa);
    H5Sclose(sb);
    H5Dclose(db);
    H5Dclose(da);
    return 0;
}

int main(int argc, char **argv) {
    if (argc != 3 && argc != 4) {
        fprintf(stderr, "usage: weights_cmp A B [RELATIVE_TOLERANCE]\n");
        return 2;
    }
    struct cmp c = {.tol = argc == 4 ? atof(argv[3]) : -1};
    hid_t a = H5Fopen(argv[1], H5F_ACC_RDONLY, H5P_DEFAULT);
    c.b = H5Fopen(argv[2], H5F_ACC_RDONLY, H5P_DEFAULT);
    if (a < 0 || c.b < 0) {
        fprintf(stderr, "weights_cmp: cannot open %s\n", a < 0 ? argv[1] : argv[2]);
        return 2;
    }
    H5Ovisit2(a, H5_INDEX_NAME, H5_ITER_NATIVE, visit, &c, H5O_INFO_BASIC);
    H5Fclose(a);
    H5Fclose(c.b);
    if (c.datasets == 0 || c.broken) {
        fprintf(stderr, "weights_cmp: %d datasets compared, %d missing or of another size\n",
                c.datasets, c.broken);
        return 2;
    }
    if (c.tol < 0 ? c.unequal > 0 : c.worst_abs > c.tol * c.scale)
        c.differ++;
    printf("%s: %d datasets, %lld values differ, largest difference %.3g (%.3g of the largest "
           "weight) in %s\n",
           c.differ ? "DIFFER" : "agree", c.datasets, c.unequal, c.worst_abs,
           c.scale > 0 ? c.worst_abs / c.scale : c.worst_abs, c.worst[0] ? c.worst : "none");
    return c.differ ? 1 : 0;
}
