/* conv.c - N-D convolution (1 to 3 spatial axes, channels last)
 * through cuDNN.
 *
 * Layouts.  kurc's tensors are NHWC (NDHWC in 3-D), which cuDNN takes as
 * CUDNN_TENSOR_NHWC; a 1-D convolution is a 2-D one over (1, width).  The
 * kernel is stored (kernel..., cin, cout), an order cuDNN has no format
 * for, so it is transposed into cuDNN's NHWC filter order (cout, kernel...,
 * cin) in the workspace before the forward and data passes, and the filter
 * gradient is computed in that order and transposed back, added into dw.
 *
 * Padding.  cuDNN pads the same amount on both sides of an axis.  Where
 * kurc's output is exactly what symmetric padding by pad_before gives (the
 * padding after is not needed, or equals pad_before: every "valid"
 * convolution and odd "same" kernels at stride 1), cuDNN pads; otherwise
 * (TensorFlow's asymmetric "same" borders) the input is copied zero-padded
 * into the workspace first, and the data gradient comes back through the
 * same box.
 *
 * Plans.  Each geometry gets a plan once: its descriptors and one algorithm
 * per pass, with its math type and workspace.  The plans of the last
 * CONV_CACHE geometries used are kept (kernels/common/lru.h): a new one
 * replaces the least recently used, so inputs of ever new lengths (speech)
 * keep training.  A step uses its plans within one batch, so a queried plan
 * is still there when its ragged batch comes unless a step uses more than
 * CONV_CACHE geometries.  By default cuDNN's
 * heuristics choose (cudnnGet*_v7), preferring deterministic algorithms,
 * and the choice never uses TF32 (CUDNN_FMA_MATH) unless the backend
 * allows it; with find set (KURC_CUDNN_FIND=1) cudnnFind* times the
 * candidates instead (fastest, but the choice may differ between runs).
 * conv_workspace makes the plan of the batch it is asked about and
 * remembers its size: a later call with a smaller batch (an epoch's last,
 * ragged batch) makes a plan that fits in that size, since the caller's
 * workspace was sized by conv_workspace.
 *
 * NCHW fallback.  Should cuDNN offer no NHWC algorithm for one of a
 * geometry's passes, or refuse to run the one it offered
 * (CUDNN_STATUS_NOT_SUPPORTED at the call: the plan is then made again in
 * NCHW, once, within the workspace the caller has, and the call repeated),
 * the geometry runs in NCHW instead: the input, the
 * output (or its gradient) and the kernel are permuted into NCHW buffers
 * of the workspace around each call (strided copies), at the cost of the
 * copies.  KURC_CUDNN_NCHW=1 uses NCHW everywhere (to compare speeds).
 *
 * Workspace layout (each part 256-byte aligned): the kernel (or its
 * gradient) in cuDNN's order; the padded input (or its gradient) when
 * padding is explicit; in NCHW plans the input and the output (or their
 * gradients) in NCHW; then cuDNN's workspace.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "kernels/cuda/cuda_internal.h"

#define CONV_CACHE 256
#define KEY_LEN 19
/* cuDNN's own workspace: at most this much per plan (a constant, so the
 * same geometry always gets the same plan). */
#define CUDNN_WORKSPACE_LIMIT ((size_t)256 << 20)

/* The three passes cuDNN picks an algorithm for. */
enum pass { FORWARD, BACKWARD_DATA, BACKWARD_FILTER, PASSES };

struct kc_conv_entry {
    bool used;
    bool queried; /* made by conv_workspace: bounds later plans of its geometry */
    int64_t key[KEY_LEN];
    int nb;             /* cuDNN tensor rank: 4 or 5 */
    bool padded;        /* input padded explicitly */
    bool nchw;          /* cuDNN runs it in NCHW (no NHWC algorithm, or forced) */
    int64_t spatial[3]; /* spatial axes as cuDNN sees them (leading 1s) */
    int64_t pdims[3];   /* the (padded) input cuDNN sees */
    int64_t before[3];  /* explicit padding before, per axis */
    int64_t out[3];
    bool described;
    cudnnTensorDescriptor_t xd, yd;
    cudnnFilterDescriptor_t wd;
    cudnnConvolutionDescriptor_t cd;
    /* per pass: cuDNN's algorithm (of the pass's enum), its math type and
     * workspace */
    int algo[PASSES];
    cudnnMathType_t math[PASSES];
    size_t bytes[PASSES];
    size_t off_pad, off_x, off_y, off_cudnn, total;
    size_t room; /* the workspace the caller is known to have for it */
};

static size_t align256(size_t n) {
    return (n + 255) / 256 * 256;
}

enum kurc_status kc_conv_cache_init(struct kc_ctx *c) {
    const char *nchw = getenv("KURC_CUDNN_NCHW");
    c->conv_nchw = nchw && *nchw && strcmp(nchw, "0") != 0;
    c->conv = calloc(CONV_CACHE, sizeof *c->conv);
    c->conv_lru = (struct kurc_lru){.capacity = CONV_CACHE,
                                    .key_len = KEY_LEN,
                                    .keys = calloc(CONV_CACHE * KEY_LEN, sizeof(int64_t)),
                                    .stamp = calloc(CONV_CACHE, sizeof(uint64_t))};
    return c->conv && c->conv_lru.keys && c->conv_lru.stamp ? KURC_OK : KURC_E_BACKEND;
}

static void forget(struct kc_conv_entry *e) {
    if (e->described) {
        cudnnDestroyTensorDescriptor(e->xd);
        cudnnDestroyTensorDescriptor(e->yd);
        cudnnDestroyFilterDescriptor(e->wd);
        cudnnDestroyConvolutionDescriptor(e->cd);
    }
    memset(e, 0, sizeof *e);
}

void kc_conv_cache_free(struct kc_ctx *c) {
    if (c->conv_spill)
        cudaFree(c->conv_spill);
    c->conv_spill = NULL;
    for (int i = 0; c->conv && i < c->conv_lru.count; i++)
        forget(&c->conv[i]);
    free(c->conv);
    free(c->conv_lru.keys);
    free(c->conv_lru.stamp);
    c->conv = NULL;
    c->conv_lru = (struct kurc_lru){0};
}

/* The geometry as a key; batch at key[1]. */
static void make_key(const struct kurc_conv_geom *g, int64_t key[KEY_LEN]) {
    memset(key, 0, KEY_LEN * sizeof *key);
    key[0] = g->ndim;
    key[1] = g->batch;
    for (int d = 0; d < g->ndim && d < 3; d++) {
        key[2 + d] = g->in[d];
        key[5 + d] = g->out[d];
        key[8 + d] = g->kernel[d];
        key[11 + d] = g->stride[d];
        key[14 + d] = g->pad_before[d];
    }
    key[17] = g->cin;
    key[18] = g->cout;
}

static bool same_except_batch(const int64_t *a, const int64_t *b) {
    return a[0] == b[0] && memcmp(a + 2, b + 2, (KEY_LEN - 2) * sizeof *a) == 0;
}

/* The kernel's numel. */
static int64_t kernel_numel(const struct kurc_conv_geom *g) {
    int64_t n = g->cin * g->cout;
    for (int d = 0; d < g->ndim; d++)
        n *= g->kernel[d];
    return n;
}

static bool fits_int(int64_t v) {
    return v >= 0 && v <= INT_MAX;
}

/* Shapes: cuDNN's view (leading spatial 1s for 1-D), explicit padding or
 * not; descriptors. */
static bool describe(struct kc_ctx *c, const char *op, const struct kurc_conv_geom *g,
                     struct kc_conv_entry *e) {
    int nsp = g->ndim == 3 ? 3 : 2, lead = nsp - g->ndim;
    e->nb = nsp + 2;
    int64_t k[3], s[3], p[3];
    e->padded = false;
    for (int d = 0; d < 3; d++) {
        bool real = d >= lead && d < nsp;
        e->spatial[d] = real ? g->in[d - lead] : 1;
        e->out[d] = real ? g->out[d - lead] : 1;
        k[d] = real ? g->kernel[d - lead] : 1;
        s[d] = real ? g->stride[d - lead] : 1;
        p[d] = real ? g->pad_before[d - lead] : 0;
        if (d < nsp) {
            int64_t symmetric = (e->spatial[d] + 2 * p[d] - k[d]) / s[d] + 1;
            if (e->spatial[d] + 2 * p[d] < k[d] || symmetric != e->out[d])
                e->padded = true;
        }
    }
    for (int d = 0; d < 3; d++) {
        e->pdims[d] = e->padded && d < nsp ? (e->out[d] - 1) * s[d] + k[d] : e->spatial[d];
        e->before[d] = e->padded ? p[d] : 0;
    }
    bool ok = fits_int(g->batch) && fits_int(g->cin) && fits_int(g->cout);
    for (int d = 0; d < nsp; d++)
        ok = ok && fits_int(e->pdims[d]) && fits_int(e->out[d]) && fits_int(k[d]) &&
             fits_int(s[d]) && fits_int(p[d]);
    if (!ok || !fits_int(g->batch * g->cin * e->pdims[0] * e->pdims[1] * e->pdims[2]) ||
        !fits_int(g->batch * g->cout * e->out[0] * e->out[1] * e->out[2])) {
        kc_fail(c, KURC_E_UNSUPPORTED, op, "cuDNN tensor descriptors",
                "a tensor of 2^31 elements or more (use a smaller batch)");
        return false;
    }
    if (!e->described) {
        if (!kc_cudnn_ok(c, cudnnCreateTensorDescriptor(&e->xd), op,
                         "cudnnCreateTensorDescriptor") ||
            !kc_cudnn_ok(c, cudnnCreateTensorDescriptor(&e->yd), op,
                         "cudnnCreateTensorDescriptor") ||
            !kc_cudnn_ok(c, cudnnCreateFilterDescriptor(&e->wd), op,
                         "cudnnCreateFilterDescriptor") ||
            !kc_cudnn_ok(c, cudnnCreateConvolutionDescriptor(&e->cd), op,
                         "cudnnCreateConvolutionDescriptor"))
            return false;
        e->described = true;
    }
    int xdim[5], ydim[5], wdim[5], pad[3], stride[3], dil[3] = {1, 1, 1};
    xdim[0] = (int)g->batch;
    xdim[1] = (int)g->cin;
    ydim[0] = (int)g->batch;
    ydim[1] = (int)g->cout;
    wdim[0] = (int)g->cout;
    wdim[1] = (int)g->cin;
    for (int d = 0; d < nsp; d++) {
        xdim[2 + d] = (int)e->pdims[d];
        ydim[2 + d] = (int)e->out[d];
        wdim[2 + d] = (int)k[d];
        pad[d] = e->padded ? 0 : (int)p[d];
        stride[d] = (int)s[d];
    }
    cudnnTensorFormat_t f = e->nchw ? CUDNN_TENSOR_NCHW : CUDNN_TENSOR_NHWC;
    if (!kc_cudnn_ok(c, cudnnSetTensorNdDescriptorEx(e->xd, f, CUDNN_DATA_FLOAT, e->nb, xdim), op,
                     "cudnnSetTensorNdDescriptorEx (input)") ||
        !kc_cudnn_ok(c, cudnnSetTensorNdDescriptorEx(e->yd, f, CUDNN_DATA_FLOAT, e->nb, ydim), op,
                     "cudnnSetTensorNdDescriptorEx (output)") ||
        !kc_cudnn_ok(c, cudnnSetFilterNdDescriptor(e->wd, CUDNN_DATA_FLOAT, f, e->nb, wdim), op,
                     "cudnnSetFilterNdDescriptor") ||
        !kc_cudnn_ok(c,
                     cudnnSetConvolutionNdDescriptor(e->cd, nsp, pad, stride, dil,
                                                     CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT),
                     op, "cudnnSetConvolutionNdDescriptor"))
        return false;
    /* cuDNN must agree on the output's shape */
    int got[5];
    if (!kc_cudnn_ok(c, cudnnGetConvolutionNdForwardOutputDim(e->cd, e->xd, e->wd, e->nb, got), op,
                     "cudnnGetConvolutionNdForwardOutputDim"))
        return false;
    for (int d = 0; d < e->nb; d++)
        if (got[d] != ydim[d]) {
            char what[160];
            snprintf(what, sizeof what, "cuDNN makes axis %d of the output %d long, kurc %d", d,
                     got[d], ydim[d]);
            kc_fail(c, KURC_E_BACKEND, op, "cudnnGetConvolutionNdForwardOutputDim", what);
            return false;
        }
    return true;
}

/* --- algorithm choice --------------------------------------------------------- */

/* The math type a candidate runs with: its own when TF32 is allowed, else
 * FMA only (no tensor-core TF32). */
static cudnnMathType_t math_for(const struct kc_ctx *c, cudnnMathType_t candidate) {
    return c->allow_tf32 ? candidate : CUDNN_FMA_MATH;
}

/* The names of the passes in messages, cuDNN's calls that list their
 * candidates, and how many algorithms they have. */
static const struct {
    const char *name, *find, *get;
    int count;
} passes[PASSES] = {
    [FORWARD] = {"forward", "cudnnFindConvolutionForwardAlgorithm",
                 "cudnnGetConvolutionForwardAlgorithm_v7", CUDNN_CONVOLUTION_FWD_ALGO_COUNT},
    [BACKWARD_DATA] = {"backward-data", "cudnnFindConvolutionBackwardDataAlgorithm",
                       "cudnnGetConvolutionBackwardDataAlgorithm_v7",
                       CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT},
    [BACKWARD_FILTER] = {"backward-filter", "cudnnFindConvolutionBackwardFilterAlgorithm",
                         "cudnnGetConvolutionBackwardFilterAlgorithm_v7",
                         CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT},
};

/* At least as many algorithms as any pass has. */
#define MOST_ALGOS                                                                                 \
    (CUDNN_CONVOLUTION_FWD_ALGO_COUNT + CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT +                    \
     CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT)

/* A candidate algorithm of any pass: what choose() reads of cuDNN's three
 * perf structs. */
struct candidate {
    int algo;
    cudnnStatus_t status;
    cudnnDeterminism_t determinism;
    cudnnMathType_t math;
};

/* cuDNN's candidates for pass p in its order of preference (measured with
 * find, else from its heuristics) into out[0..*got). */
static cudnnStatus_t candidates(struct kc_ctx *c, const struct kc_conv_entry *e, enum pass p,
                                bool find, struct candidate *out, int *got) {
    cudnnHandle_t h = c->cudnn;
    cudnnStatus_t st;
    *got = 0;
    switch (p) {
    case FORWARD: {
        cudnnConvolutionFwdAlgoPerf_t perf[CUDNN_CONVOLUTION_FWD_ALGO_COUNT];
        st = find ? cudnnFindConvolutionForwardAlgorithm(
                        h, e->xd, e->wd, e->cd, e->yd, CUDNN_CONVOLUTION_FWD_ALGO_COUNT, got, perf)
                  : cudnnGetConvolutionForwardAlgorithm_v7(
                        h, e->xd, e->wd, e->cd, e->yd, CUDNN_CONVOLUTION_FWD_ALGO_COUNT, got, perf);
        for (int i = 0; st == CUDNN_STATUS_SUCCESS && i < *got; i++)
            out[i] = (struct candidate){perf[i].algo, perf[i].status, perf[i].determinism,
                                        perf[i].mathType};
        return st;
    }
    case BACKWARD_DATA: {
        cudnnConvolutionBwdDataAlgoPerf_t perf[CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT];
        st = find ? cudnnFindConvolutionBackwardDataAlgorithm(h, e->wd, e->yd, e->cd, e->xd,
                                                              CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT,
                                                              got, perf)
                  : cudnnGetConvolutionBackwardDataAlgorithm_v7(
                        h, e->wd, e->yd, e->cd, e->xd, CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT, got,
                        perf);
        for (int i = 0; st == CUDNN_STATUS_SUCCESS && i < *got; i++)
            out[i] = (struct candidate){perf[i].algo, perf[i].status, perf[i].determinism,
                                        perf[i].mathType};
        return st;
    }
    default: {
        cudnnConvolutionBwdFilterAlgoPerf_t perf[CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT];
        st = find ? cudnnFindConvolutionBackwardFilterAlgorithm(
                        h, e->xd, e->yd, e->cd, e->wd, CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT, got,
                        perf)
                  : cudnnGetConvolutionBackwardFilterAlgorithm_v7(
                        h, e->xd, e->yd, e->cd, e->wd, CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT, got,
                        perf);
        for (int i = 0; st == CUDNN_STATUS_SUCCESS && i < *got; i++)
            out[i] = (struct candidate){perf[i].algo, perf[i].status, perf[i].determinism,
                                        perf[i].mathType};
        return st;
    }
    }
}

/* The workspace algorithm algo of pass p needs, with the math type that is
 * set on e->cd. */
static cudnnStatus_t workspace(struct kc_ctx *c, const struct kc_conv_entry *e, enum pass p,
                               int algo, size_t *bytes) {
    cudnnHandle_t h = c->cudnn;
    switch (p) {
    case FORWARD:
        return cudnnGetConvolutionForwardWorkspaceSize(h, e->xd, e->wd, e->cd, e->yd,
                                                       (cudnnConvolutionFwdAlgo_t)algo, bytes);
    case BACKWARD_DATA:
        return cudnnGetConvolutionBackwardDataWorkspaceSize(
            h, e->wd, e->yd, e->cd, e->xd, (cudnnConvolutionBwdDataAlgo_t)algo, bytes);
    default:
        return cudnnGetConvolutionBackwardFilterWorkspaceSize(
            h, e->xd, e->yd, e->cd, e->wd, (cudnnConvolutionBwdFilterAlgo_t)algo, bytes);
    }
}

/* Keeps the first of cand[0..n) that is supported with our math type, fits
 * `limit` and (on the first round) is deterministic; false when none. */
static bool pick(struct kc_ctx *c, struct kc_conv_entry *e, enum pass p,
                 const struct candidate *cand, int n, size_t limit) {
    for (int round = 0; round < 2; round++)
        for (int i = 0; i < n; i++) {
            if (cand[i].status != CUDNN_STATUS_SUCCESS ||
                (round == 0 && cand[i].determinism != CUDNN_DETERMINISTIC))
                continue;
            cudnnMathType_t m = math_for(c, cand[i].math);
            size_t b = 0;
            if (cudnnSetConvolutionMathType(e->cd, m) != CUDNN_STATUS_SUCCESS ||
                workspace(c, e, p, cand[i].algo, &b) != CUDNN_STATUS_SUCCESS || b > limit)
                continue;
            e->algo[p] = cand[i].algo;
            e->math[p] = m;
            e->bytes[p] = b;
            return true;
        }
    return false;
}

/* What choose() found: algorithms for the three passes, none for one of
 * them (*pass names it), or a library failure (recorded). */
enum choice { CHOSEN, NO_ALGORITHM, FAILED };

static enum choice choose(struct kc_ctx *c, const char *op, struct kc_conv_entry *e, size_t limit,
                          bool find, const char **pass) {
    cudnnMathType_t base = c->allow_tf32 ? CUDNN_DEFAULT_MATH : CUDNN_FMA_MATH;
    for (enum pass p = FORWARD; p < PASSES; p++) {
        struct candidate cand[2 * MOST_ALGOS];
        int got;
        cudnnSetConvolutionMathType(e->cd, base);
        cudnnStatus_t st = candidates(c, e, p, find, cand, &got);
        if (st == CUDNN_STATUS_NOT_SUPPORTED) {
            *pass = passes[p].name;
            return NO_ALGORITHM;
        }
        if (!kc_cudnn_ok(c, st, op, find ? passes[p].find : passes[p].get))
            return FAILED;
        /* After cuDNN's candidates, every algorithm of the pass in enum
         * order, as a last resort (taken only when none of cuDNN's fits,
         * on the second round, since their determinism is unknown). */
        for (int a = 0; a < passes[p].count; a++)
            cand[got++] = (struct candidate){a, CUDNN_STATUS_SUCCESS, CUDNN_NON_DETERMINISTIC,
                                             CUDNN_DEFAULT_MATH};
        if (!pick(c, e, p, cand, got, limit)) {
            *pass = passes[p].name;
            return NO_ALGORITHM;
        }
    }
    return CHOSEN;
}

/* --- plans ---------------------------------------------------------------------- */

/* Offsets of the parts before cuDNN's workspace. */
static void layout(const struct kurc_conv_geom *g, struct kc_conv_entry *e) {
    size_t wt = align256((size_t)kernel_numel(g) * sizeof(float));
    size_t x =
        (size_t)(g->batch * e->pdims[0] * e->pdims[1] * e->pdims[2] * g->cin) * sizeof(float);
    size_t y = (size_t)(g->batch * e->out[0] * e->out[1] * e->out[2] * g->cout) * sizeof(float);
    e->off_pad = wt;
    e->off_x = e->off_pad + (e->padded ? align256(x) : 0);
    e->off_y = e->off_x + (e->nchw ? align256(x) : 0);
    e->off_cudnn = e->off_y + (e->nchw ? align256(y) : 0);
}

static void finish(struct kc_conv_entry *e) {
    size_t most = 0;
    for (enum pass p = FORWARD; p < PASSES; p++)
        most = e->bytes[p] > most ? e->bytes[p] : most;
    e->total = e->off_cudnn + align256(most);
}

/* The plan of g, made when missing (queried: by conv_workspace).  NULL
 * after a failure. */
static struct kc_conv_entry *plan(struct kc_ctx *c, const char *op, const struct kurc_conv_geom *g,
                                  bool queried) {
    int64_t key[KEY_LEN];
    make_key(g, key);
    int hit = kurc_lru_find(&c->conv_lru, key);
    if (hit >= 0 && c->conv[hit].used) {
        c->conv[hit].queried = c->conv[hit].queried || queried;
        return &c->conv[hit];
    }
    size_t budget = 0;
    bool bounded = false, sibling_nchw = false;
    for (int i = 0; !queried && i < c->conv_lru.count; i++) {
        struct kc_conv_entry *e = &c->conv[i];
        if (e->used && e->queried && same_except_batch(e->key, key)) {
            budget = e->total > budget ? e->total : budget;
            bounded = true;
            sibling_nchw = e->nchw;
        }
    }
    bool evicted; /* the entry released below either way */
    int at = hit >= 0 ? hit : kurc_lru_claim(&c->conv_lru, key, &evicted);
    struct kc_conv_entry *e = &c->conv[at];
    forget(e);
    memcpy(e->key, key, sizeof key);
    /* NHWC, or NCHW when cuDNN has no NHWC algorithm for a pass */
    const char *pass = "";
    enum choice got = NO_ALGORITHM;
    for (int layout_try = c->conv_nchw || sibling_nchw ? 1 : 0;
         layout_try < 2 && got == NO_ALGORITHM; layout_try++) {
        e->nchw = layout_try == 1;
        if (!describe(c, op, g, e)) {
            forget(e);
            return NULL;
        }
        layout(g, e);
        size_t limit = CUDNN_WORKSPACE_LIMIT;
        if (bounded) /* fit in the workspace sized for the queried batch */
            limit = budget > e->off_cudnn ? budget - e->off_cudnn : 0;
        got = choose(c, op, e, limit, c->find && queried, &pass);
    }
    if (got != CHOSEN) {
        if (got == NO_ALGORITHM) {
            char what[160];
            snprintf(what, sizeof what,
                     "cuDNN has no %s algorithm for this convolution, in NHWC or NCHW, within "
                     "its workspace",
                     pass);
            kc_fail(c, KURC_E_UNSUPPORTED, op, "cudnnGetConvolution*Algorithm_v7", what);
        }
        forget(e);
        return NULL;
    }
    finish(e);
    if (bounded && e->total > budget) {
        /* only a batch larger than conv_workspace was asked about gets here */
        kc_fail(c, KURC_E_INVALID, op, "the convolution workspace",
                "this batch needs more workspace than conv_workspace reported for its geometry");
        forget(e);
        return NULL;
    }
    e->used = true;
    e->queried = queried;
    e->room = bounded ? budget : e->total;
    return e;
}

/* After cuDNN refused to run e's NHWC algorithm for a pass
 * (CUDNN_STATUS_NOT_SUPPORTED, which the workspace queries do not
 * foresee): plans g again in NCHW; false (recorded) when NCHW fails too.
 * The NCHW plan may need more workspace than the caller has: it then runs
 * in the backend's own (pass_workspace). */
static bool replan_nchw(struct kc_ctx *c, const char *op, const struct kurc_conv_geom *g,
                        struct kc_conv_entry *e, enum pass failed) {
    const char *pass = passes[failed].name;
    e->nchw = true;
    if (!describe(c, op, g, e))
        return false;
    layout(g, e);
    enum choice got = choose(c, op, e, CUDNN_WORKSPACE_LIMIT, false, &pass);
    if (got == CHOSEN) {
        finish(e);
        kurc_log(KURC_LOG_DEBUG, "%s: cuDNN refused the NHWC %s algorithm; NCHW from now on", op,
                 passes[failed].name);
        return true;
    }
    if (got == NO_ALGORITHM) {
        char what[200];
        snprintf(what, sizeof what,
                 "cuDNN refused the NHWC %s algorithm (NOT_SUPPORTED) and has no NCHW %s "
                 "algorithm within its workspace",
                 passes[failed].name, pass);
        kc_fail(c, KURC_E_UNSUPPORTED, op, "cudnnGetConvolution*Algorithm_v7", what);
    }
    e->used = false;
    return false;
}

/* The workspace a pass of e runs in: the caller's, or for a plan that
 * outgrew it (an NCHW re-plan) the backend's own, grown in stream order
 * when needed; NULL after a failure (recorded). */
static char *pass_workspace(struct kc_ctx *c, const char *op, const struct kc_conv_entry *e,
                            void *caller) {
    if (e->total <= e->room)
        return caller;
    if (e->total > c->conv_spill_bytes) {
        if (c->conv_spill)
            cudaFreeAsync(c->conv_spill, c->stream);
        c->conv_spill = NULL;
        c->conv_spill_bytes = 0;
        if (!kc_cuda_ok(c, cudaMallocAsync(&c->conv_spill, e->total, c->stream), op,
                        "cudaMallocAsync (workspace of an NCHW re-plan)"))
            return NULL;
        c->conv_spill_bytes = e->total;
    }
    return c->conv_spill;
}

/* After a pass's cuDNN call: true when it is to run again, because cuDNN
 * refused an NHWC plan and it is now planned in NCHW (with the pass's
 * math type set); false when the call succeeded or failed (recorded). */
static bool again_in_nchw(struct kc_ctx *c, const char *op, const char *call,
                          const struct kurc_conv_geom *g, struct kc_conv_entry *e, enum pass p,
                          cudnnStatus_t st) {
    if (st != CUDNN_STATUS_NOT_SUPPORTED || e->nchw) {
        kc_cudnn_ok(c, st, op, call);
        return false;
    }
    return replan_nchw(c, op, g, e, p) &&
           kc_cudnn_ok(c, cudnnSetConvolutionMathType(e->cd, e->math[p]), op,
                       "cudnnSetConvolutionMathType");
}

static bool empty(const struct kurc_conv_geom *g) {
    if (g->batch <= 0 || g->cout <= 0)
        return true;
    for (int d = 0; d < g->ndim; d++)
        if (g->out[d] <= 0)
            return true;
    return false;
}

size_t kc_conv_workspace(struct kurc_backend *be, const struct kurc_conv_geom *g) {
    struct kc_ctx *c = kc_ctx_of(be);
    if (c->failed || empty(g) || g->cin <= 0)
        return 0;
    struct kc_conv_entry *e = plan(c, "conv_workspace", g, true);
    return e ? e->total : 0;
}

/* --- the passes ------------------------------------------------------------------ */

static void boxes(const struct kurc_conv_geom *g, const struct kc_conv_entry *e, struct kc_box *x,
                  struct kc_box *padded) {
    x->batch = padded->batch = g->batch;
    x->channels = padded->channels = g->cin;
    for (int d = 0; d < 3; d++) {
        x->dims[d] = e->spatial[d];
        padded->dims[d] = e->pdims[d];
    }
}

/* (kernel..., cin) x cout: the kernel's rows. */
static int64_t kernel_rows(const struct kurc_conv_geom *g) {
    return kernel_numel(g) / g->cout;
}

static int64_t pixels(const int64_t dims[3]) {
    return dims[0] * dims[1] * dims[2];
}

/* (batch, pixels, ch) -> (batch, ch, pixels) */
static void to_nchw(struct kurc_backend *be, int64_t batch, int64_t pix, int64_t ch,
                    const float *src, float *dst) {
    struct kurc_strided v = {3, {batch, pix, ch}, {pix * ch, ch, 1}, {ch * pix, 1, pix}};
    kc_copy_strided(be, &v, src, dst, false);
}

/* (batch, ch, pixels) -> (batch, pixels, ch), = or += */
static void from_nchw(struct kurc_backend *be, int64_t batch, int64_t pix, int64_t ch,
                      const float *src, float *dst, bool accumulate) {
    struct kurc_strided v = {3, {batch, ch, pix}, {ch * pix, pix, 1}, {pix * ch, 1, ch}};
    kc_copy_strided(be, &v, src, dst, accumulate);
}

/* kurc's kernel (kernel pixels, cin, cout) in cuDNN's filter order: NHWC
 * (cout, kernel pixels, cin) or NCHW (cout, cin, kernel pixels). */
static void filter_to_cudnn(struct kurc_backend *be, const char *op, const struct kurc_conv_geom *g,
                            const struct kc_conv_entry *e, const float *w, float *wt) {
    if (!e->nchw) {
        kc_transpose(be, op, kernel_rows(g), g->cout, w, wt, false);
        return;
    }
    int64_t kp = kernel_rows(g) / g->cin, ci = g->cin, co = g->cout;
    struct kurc_strided v = {3, {kp, ci, co}, {ci * co, co, 1}, {1, kp, ci * kp}};
    kc_copy_strided(be, &v, w, wt, false);
}

/* The adjoint, added: dw += the filter gradient in cuDNN's order. */
static void filter_from_cudnn(struct kurc_backend *be, const char *op,
                              const struct kurc_conv_geom *g, const struct kc_conv_entry *e,
                              const float *dwt, float *dw) {
    if (!e->nchw) {
        kc_transpose(be, op, g->cout, kernel_rows(g), dwt, dw, true);
        return;
    }
    int64_t kp = kernel_rows(g) / g->cin, ci = g->cin, co = g->cout;
    struct kurc_strided v = {3, {kp, ci, co}, {1, kp, ci * kp}, {ci * co, co, 1}};
    kc_copy_strided(be, &v, dwt, dw, true);
}

/* The workspace of a pass that reads the kernel (pass_workspace), with
 * the kernel put in cuDNN's order at its start; NULL after a failure. */
static char *pass_with_filter(struct kurc_backend *be, const char *op,
                              const struct kurc_conv_geom *g, const struct kc_conv_entry *e,
                              const float *w, void *workspace) {
    char *ws = pass_workspace(kc_ctx_of(be), op, e, workspace);
    if (ws)
        filter_to_cudnn(be, op, g, e, w, (float *)ws);
    return ws;
}

/* The input as cuDNN reads it: x, padded into the workspace when the
 * padding is explicit, then permuted to NCHW in NCHW plans. */
static const float *cudnn_input(struct kurc_backend *be, const struct kurc_conv_geom *g,
                                const struct kc_conv_entry *e, const float *x, char *ws) {
    const float *input = x;
    if (e->padded) {
        struct kc_box xb, pb;
        boxes(g, e, &xb, &pb);
        kc_pad(be, &xb, &pb, e->before, x, (float *)(ws + e->off_pad));
        input = (const float *)(ws + e->off_pad);
    }
    if (e->nchw) {
        to_nchw(be, g->batch, pixels(e->pdims), g->cin, input, (float *)(ws + e->off_x));
        input = (const float *)(ws + e->off_x);
    }
    return input;
}

/* dy as cuDNN reads it (NCHW plans: permuted into the workspace). */
static const float *cudnn_dy(struct kurc_backend *be, const struct kurc_conv_geom *g,
                             const struct kc_conv_entry *e, const float *dy, char *ws) {
    if (!e->nchw)
        return dy;
    to_nchw(be, g->batch, pixels(e->out), g->cout, dy, (float *)(ws + e->off_y));
    return (const float *)(ws + e->off_y);
}

/* The plan of one pass over g with that pass's math type set on the
 * descriptor; NULL when there is nothing to do (no input channels) or
 * after a failure. */
static struct kc_conv_entry *pass_plan(struct kurc_backend *be, const char *op,
                                       const struct kurc_conv_geom *g, enum pass pass) {
    struct kc_ctx *c = kc_ctx_of(be);
    if (c->failed || empty(g) || g->cin <= 0)
        return NULL;
    struct kc_conv_entry *e = plan(c, op, g, false);
    if (!e || !kc_cudnn_ok(c, cudnnSetConvolutionMathType(e->cd, e->math[pass]), op,
                           "cudnnSetConvolutionMathType"))
        return NULL;
    return e;
}

void kc_conv_forward(struct kurc_backend *be, const struct kurc_conv_geom *g, const float *x,
                     const float *w, float *y, void *workspace) {
    struct kc_ctx *c = kc_ctx_of(be);
    const char *op = "conv_forward";
    if (c->failed || empty(g))
        return;
    if (g->cin <= 0) {
        int64_t n = g->batch * g->cout;
        for (int d = 0; d < g->ndim; d++)
            n *= g->out[d];
        kc_cuda_ok(c, cudaMemsetAsync(y, 0, (size_t)n * sizeof(float), c->stream), op,
                   "cudaMemsetAsync");
        return;
    }
    struct kc_conv_entry *e = pass_plan(be, op, g, FORWARD);
    if (!e)
        return;
    char *ws;
    float one = 1.0f, zero = 0.0f;
    cudnnStatus_t st;
    do {
        if (!(ws = pass_with_filter(be, op, g, e, w, workspace)))
            return;
        const float *input = cudnn_input(be, g, e, x, ws);
        float *target = e->nchw ? (float *)(ws + e->off_y) : y;
        if (kc_failed(be))
            return;
        st = cudnnConvolutionForward(c->cudnn, &one, e->xd, input, e->wd, ws, e->cd,
                                     e->algo[FORWARD], ws + e->off_cudnn, e->bytes[FORWARD], &zero,
                                     e->yd, target);
    } while (again_in_nchw(c, op, "cudnnConvolutionForward", g, e, FORWARD, st));
    if (st == CUDNN_STATUS_SUCCESS && e->nchw)
        from_nchw(be, g->batch, pixels(e->out), g->cout, (float *)(ws + e->off_y), y, false);
}

void kc_conv_backward_data(struct kurc_backend *be, const struct kurc_conv_geom *g, const float *dy,
                           const float *w, float *dx, void *workspace) {
    struct kc_ctx *c = kc_ctx_of(be);
    const char *op = "conv_backward_data";
    struct kc_conv_entry *e = pass_plan(be, op, g, BACKWARD_DATA);
    if (!e)
        return;
    char *ws;
    float *target;
    float one = 1.0f, zero = 0.0f;
    cudnnStatus_t st;
    do {
        if (!(ws = pass_with_filter(be, op, g, e, w, workspace)))
            return;
        const float *din = cudnn_dy(be, g, e, dy, ws);
        /* straight into dx (beta 1 accumulates) when cuDNN's input is x
         * itself; else into the workspace, then added back */
        bool direct = !e->nchw && !e->padded;
        target = e->nchw     ? (float *)(ws + e->off_x)
                 : e->padded ? (float *)(ws + e->off_pad)
                             : dx;
        if (kc_failed(be))
            return;
        st = cudnnConvolutionBackwardData(c->cudnn, &one, e->wd, ws, e->yd, din, e->cd,
                                          e->algo[BACKWARD_DATA], ws + e->off_cudnn,
                                          e->bytes[BACKWARD_DATA], direct ? &one : &zero, e->xd,
                                          target);
    } while (again_in_nchw(c, op, "cudnnConvolutionBackwardData", g, e, BACKWARD_DATA, st));
    if (st != CUDNN_STATUS_SUCCESS)
        return;
    struct kc_box xb, pb;
    boxes(g, e, &xb, &pb);
    if (e->nchw && !e->padded) {
        from_nchw(be, g->batch, pixels(e->pdims), g->cin, target, dx, true);
    } else if (e->nchw) {
        float *dpadded = (float *)(ws + e->off_pad);
        from_nchw(be, g->batch, pixels(e->pdims), g->cin, target, dpadded, false);
        kc_unpad_add(be, &xb, &pb, e->before, dpadded, dx);
    } else if (e->padded) {
        kc_unpad_add(be, &xb, &pb, e->before, target, dx);
    }
}

void kc_conv_backward_filter(struct kurc_backend *be, const struct kurc_conv_geom *g,
                             const float *x, const float *dy, float *dw, void *workspace) {
    struct kc_ctx *c = kc_ctx_of(be);
    const char *op = "conv_backward_filter";
    struct kc_conv_entry *e = pass_plan(be, op, g, BACKWARD_FILTER);
    if (!e)
        return;
    char *ws;
    float one = 1.0f, zero = 0.0f;
    cudnnStatus_t st;
    do {
        if (!(ws = pass_workspace(c, op, e, workspace)))
            return;
        const float *input = cudnn_input(be, g, e, x, ws);
        const float *din = cudnn_dy(be, g, e, dy, ws);
        if (kc_failed(be))
            return;
        st = cudnnConvolutionBackwardFilter(c->cudnn, &one, e->xd, input, e->yd, din, e->cd,
                                            e->algo[BACKWARD_FILTER], ws + e->off_cudnn,
                                            e->bytes[BACKWARD_FILTER], &zero, e->wd, ws);
    } while (again_in_nchw(c, op, "cudnnConvolutionBackwardFilter", g, e, BACKWARD_FILTER, st));
    if (st == CUDNN_STATUS_SUCCESS)
        filter_from_cudnn(be, op, g, e, (const float *)ws, dw);
}
