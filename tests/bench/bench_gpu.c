/* bench_gpu.c - what the CUDA backend achieves on this GPU (not a test).
 *
 *   bench_gpu [--quick]      dense and convolution ops: kurc's slot against
 *                            a direct cuBLAS / cuDNN call on the same shapes,
 *                            in TFLOP/s, with the device's nominal peak;
 *                            memory-bound ops in GB/s against the nominal
 *                            bandwidth; NCCL all-reduce bus bandwidth over
 *                            every visible GPU (one process, ncclCommInitAll)
 *   mpirun -n N bench_gpu --comm
 *                            the all-reduce through kurc's own communicator
 *                            (NCCL over MPI, one GPU per rank; with
 *                            KURC_NCCL=0, MPI through host buffers)
 *   bench_gpu --gpus         prints the number of visible GPUs
 * Exits 77 without a GPU (1 where nvidia-smi lists GPUs that CUDA cannot
 * see).  Environment KURC_CUDA_TF32=1 lets both sides use TF32 (kurc's
 * default is off, for agreement with the CPU).
 *
 * Each timing is the median of 5 runs of enough iterations to take about
 * 50 ms, on the backend's stream, between CUDA events.  FLOPs count 2 per
 * multiply-add: dense 2 m n k; convolution 2 batch out_pixels cout
 * kernel_pixels cin.  Bus bandwidth is NCCL's: bytes / time x 2 (n-1) / n.
 */
#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <cudnn.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/kurc_config.h"
#include "core/backend.h"
#include "gpu_absent.h"
#include "kernels/cuda/cuda_backend.h"
#if KURC_HAVE_NCCL
#include <nccl.h>

#include "comm/comm.h"
#include "comm/comm_nccl.h"
#endif

#define CUDA_OK(call)                                                                              \
    do {                                                                                           \
        cudaError_t e_ = (call);                                                                   \
        if (e_ != cudaSuccess) {                                                                   \
            fprintf(stderr, "%s:%d: %s: %s\n", __FILE__, __LINE__, #call, cudaGetErrorString(e_)); \
            exit(1);                                                                               \
        }                                                                                          \
    } while (0)
#define LIB_OK(call, ok)                                                                           \
    do {                                                                                           \
        if ((call) != (ok)) {                                                                      \
            fprintf(stderr, "%s:%d: %s failed\n", __FILE__, __LINE__, #call);                      \
            exit(1);                                                                               \
        }                                                                                          \
    } while (0)

static struct kurc_backend *be;
static cudaStream_t stream;
static bool tf32, quick;

/* --- timing ------------------------------------------------------------------ */

typedef void (*bench_fn)(void *ctx);

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Seconds per call of fn: median of 5 batches. */
static double seconds(bench_fn fn, void *ctx) {
    cudaEvent_t start, stop;
    CUDA_OK(cudaEventCreate(&start));
    CUDA_OK(cudaEventCreate(&stop));
    for (int i = 0; i < 3; i++)
        fn(ctx);
    CUDA_OK(cudaStreamSynchronize(stream));
    /* iterations for ~50 ms (5 ms with --quick) */
    float ms = 0;
    CUDA_OK(cudaEventRecord(start, stream));
    fn(ctx);
    CUDA_OK(cudaEventRecord(stop, stream));
    CUDA_OK(cudaEventSynchronize(stop));
    CUDA_OK(cudaEventElapsedTime(&ms, start, stop));
    double target = quick ? 5.0 : 50.0;
    int iters = ms > 0 ? (int)(target / ms) : 100;
    iters = iters < 1 ? 1 : iters > 10000 ? 10000 : iters;
    double runs[5];
    for (int r = 0; r < 5; r++) {
        CUDA_OK(cudaEventRecord(start, stream));
        for (int i = 0; i < iters; i++)
            fn(ctx);
        CUDA_OK(cudaEventRecord(stop, stream));
        CUDA_OK(cudaEventSynchronize(stop));
        CUDA_OK(cudaEventElapsedTime(&ms, start, stop));
        runs[r] = ms * 1e-3 / iters;
    }
    cudaEventDestroy(start);
    cudaEventDestroy(stop);
    struct kurc_err err;
    if (kurc_backend_check(be, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        exit(1);
    }
    qsort(runs, 5, sizeof *runs, cmp_double);
    return runs[2];
}

static float *device_floats(size_t n, float value) {
    float *p = be->ops->alloc(be, (n ? n : 1) * sizeof(float));
    if (!p) {
        struct kurc_err err;
        kurc_backend_check(be, &err);
        fprintf(stderr, "%s\n", err.msg);
        exit(1);
    }
    be->ops->fill(be, p, (int64_t)n, value);
    return p;
}

/* --- the device ----------------------------------------------------------------- */

struct peak {
    double fp32, tf32; /* TFLOP/s, dense */
    double bandwidth;  /* GB/s */
};

/* Nominal peaks: NVIDIA's data sheets for the parts kurc targets (SXM
 * boards); otherwise FP32 from cores x clock and bandwidth from the memory
 * bus, and no TF32 figure. */
static struct peak device_peak(int device, char *name, size_t size) {
    struct cudaDeviceProp prop;
    CUDA_OK(cudaGetDeviceProperties(&prop, device));
    snprintf(name, size, "%s", prop.name);
    struct peak p = {0, 0, 0};
    if (strstr(prop.name, "H200")) {
        p = (struct peak){66.9, 494.7, 4800};
    } else if (strstr(prop.name, "H100") && strstr(prop.name, "PCIe")) {
        p = (struct peak){51.2, 378.0, 2000};
    } else if (strstr(prop.name, "H100")) {
        p = (struct peak){66.9, 494.7, 3350};
    } else if (strstr(prop.name, "A100")) {
        p = (struct peak){19.5, 156.0, prop.totalGlobalMem > (50ull << 30) ? 2039 : 1555};
    } else {
        int clock_khz = 0, mem_khz = 0, bus = 0;
        cudaDeviceGetAttribute(&clock_khz, cudaDevAttrClockRate, device);
        cudaDeviceGetAttribute(&mem_khz, cudaDevAttrMemoryClockRate, device);
        cudaDeviceGetAttribute(&bus, cudaDevAttrGlobalMemoryBusWidth, device);
        int cores = prop.major == 8 && prop.minor == 0 ? 64 : prop.major >= 8 ? 128 : 64;
        p.fp32 = 2.0 * prop.multiProcessorCount * cores * clock_khz * 1e3 / 1e12;
        p.bandwidth = 2.0 * mem_khz * 1e3 * (bus / 8.0) / 1e9;
    }
    return p;
}

/* --- dense ------------------------------------------------------------------------ */

struct gemm_ctx {
    cublasHandle_t handle;
    bool direct;
    bool ta, tb;
    int64_t m, n, k;
    const float *a, *b;
    float *c;
    float beta;
};

/* The row-major product C = op(A) op(B) (+ beta C), packed operands. */
static void gemm_run(void *p) {
    struct gemm_ctx *g = p;
    int64_t lda = g->ta ? g->m : g->k, ldb = g->tb ? g->k : g->n;
    float one = 1.0f;
    if (g->direct)
        LIB_OK(cublasSgemm_64(g->handle, g->tb ? CUBLAS_OP_T : CUBLAS_OP_N,
                              g->ta ? CUBLAS_OP_T : CUBLAS_OP_N, g->n, g->m, g->k, &one, g->b, ldb,
                              g->a, lda, &g->beta, g->c, g->n),
               CUBLAS_STATUS_SUCCESS);
    else
        be->ops->gemm(be, g->ta, g->tb, g->m, g->n, g->k, 1.0f, g->a, lda, g->b, ldb, g->beta, g->c,
                      g->n);
}

static void bench_dense(cublasHandle_t handle, const struct peak *pk) {
    printf("\n== dense (a dense layer of batch x in -> out; TFLOP/s)\n");
    printf("%-28s %-12s %10s %10s %8s\n", "shape", "pass", "kurc", "cuBLAS", "% peak");
    int64_t shapes[][3] = {
        {128, 784, 128}, {256, 1024, 1024}, {1024, 4096, 4096}, {4096, 8192, 8192}};
    size_t count = quick ? 2 : sizeof shapes / sizeof *shapes;
    double peak = tf32 ? pk->tf32 : pk->fp32;
    for (size_t s = 0; s < count; s++) {
        int64_t batch = shapes[s][0], in = shapes[s][1], out = shapes[s][2];
        float *x = device_floats((size_t)(batch * in), 0.01f);
        float *w = device_floats((size_t)(in * out), 0.01f);
        float *y = device_floats((size_t)(batch * out), 0.0f);
        float *dx = device_floats((size_t)(batch * in), 0.0f);
        float *dw = device_floats((size_t)(in * out), 0.0f);
        /* forward y = x w; data dx = dy w^T; filter dw += x^T dy */
        struct gemm_ctx passes[3] = {
            {handle, false, false, false, batch, out, in, x, w, y, 0.0f},
            {handle, false, false, true, batch, in, out, y, w, dx, 1.0f},
            {handle, false, true, false, in, out, batch, x, y, dw, 1.0f},
        };
        const char *names[3] = {"forward", "backward data", "backward filter"};
        double flops = 2.0 * (double)batch * (double)in * (double)out;
        for (int p = 0; p < 3; p++) {
            double t_kurc = seconds(gemm_run, &passes[p]);
            passes[p].direct = true;
            double t_direct = seconds(gemm_run, &passes[p]);
            char shape[64];
            snprintf(shape, sizeof shape, "%lld x %lld -> %lld", (long long)batch, (long long)in,
                     (long long)out);
            double tk = flops / t_kurc / 1e12;
            printf("%-28s %-12s %10.2f %10.2f %7.0f%%\n", p ? "" : shape, names[p], tk,
                   flops / t_direct / 1e12, peak > 0 ? 100 * tk / peak : NAN);
        }
        be->ops->free(be, x);
        be->ops->free(be, w);
        be->ops->free(be, y);
        be->ops->free(be, dx);
        be->ops->free(be, dw);
    }
}

/* --- convolution ---------------------------------------------------------------------- */

struct conv_ctx {
    int pass; /* 0 forward, 1 data, 2 filter */
    bool direct;
    struct kurc_conv_geom g;
    float *x, *w, *y, *dx, *dw;
    void *workspace;
    /* the direct cuDNN call: NHWC, filter already in cuDNN's KRSC order */
    cudnnHandle_t h;
    cudnnTensorDescriptor_t xd, yd;
    cudnnFilterDescriptor_t wd;
    cudnnConvolutionDescriptor_t cd;
    cudnnConvolutionFwdAlgo_t fwd;
    cudnnConvolutionBwdDataAlgo_t data;
    cudnnConvolutionBwdFilterAlgo_t filter;
    void *cudnn_ws;
    size_t cudnn_bytes;
};

static void conv_run(void *p) {
    struct conv_ctx *c = p;
    float one = 1.0f, zero = 0.0f;
    if (!c->direct) {
        if (c->pass == 0)
            be->ops->conv_forward(be, &c->g, c->x, c->w, c->y, c->workspace);
        else if (c->pass == 1)
            be->ops->conv_backward_data(be, &c->g, c->y, c->w, c->dx, c->workspace);
        else
            be->ops->conv_backward_filter(be, &c->g, c->x, c->y, c->dw, c->workspace);
    } else if (c->pass == 0) {
        LIB_OK(cudnnConvolutionForward(c->h, &one, c->xd, c->x, c->wd, c->w, c->cd, c->fwd,
                                       c->cudnn_ws, c->cudnn_bytes, &zero, c->yd, c->y),
               CUDNN_STATUS_SUCCESS);
    } else if (c->pass == 1) {
        LIB_OK(cudnnConvolutionBackwardData(c->h, &one, c->wd, c->w, c->yd, c->y, c->cd, c->data,
                                            c->cudnn_ws, c->cudnn_bytes, &one, c->xd, c->dx),
               CUDNN_STATUS_SUCCESS);
    } else {
        LIB_OK(cudnnConvolutionBackwardFilter(c->h, &one, c->xd, c->x, c->yd, c->y, c->cd,
                                              c->filter, c->cudnn_ws, c->cudnn_bytes, &one, c->wd,
                                              c->dw),
               CUDNN_STATUS_SUCCESS);
    }
}

/* cuDNN's own best choice (heuristics) for the direct call. */
static void direct_setup(struct conv_ctx *c, int64_t pad) {
    const struct kurc_conv_geom *g = &c->g;
    LIB_OK(cudnnCreate(&c->h), CUDNN_STATUS_SUCCESS);
    LIB_OK(cudnnSetStream(c->h, stream), CUDNN_STATUS_SUCCESS);
    cudnnCreateTensorDescriptor(&c->xd);
    cudnnCreateTensorDescriptor(&c->yd);
    cudnnCreateFilterDescriptor(&c->wd);
    cudnnCreateConvolutionDescriptor(&c->cd);
    int xdim[4] = {(int)g->batch, (int)g->cin, (int)g->in[0], (int)g->in[1]};
    int ydim[4] = {(int)g->batch, (int)g->cout, (int)g->out[0], (int)g->out[1]};
    int wdim[4] = {(int)g->cout, (int)g->cin, (int)g->kernel[0], (int)g->kernel[1]};
    int pads[2] = {(int)pad, (int)pad}, strides[2] = {1, 1}, dil[2] = {1, 1};
    LIB_OK(cudnnSetTensorNdDescriptorEx(c->xd, CUDNN_TENSOR_NHWC, CUDNN_DATA_FLOAT, 4, xdim),
           CUDNN_STATUS_SUCCESS);
    LIB_OK(cudnnSetTensorNdDescriptorEx(c->yd, CUDNN_TENSOR_NHWC, CUDNN_DATA_FLOAT, 4, ydim),
           CUDNN_STATUS_SUCCESS);
    LIB_OK(cudnnSetFilterNdDescriptor(c->wd, CUDNN_DATA_FLOAT, CUDNN_TENSOR_NHWC, 4, wdim),
           CUDNN_STATUS_SUCCESS);
    LIB_OK(cudnnSetConvolutionNdDescriptor(c->cd, 2, pads, strides, dil, CUDNN_CROSS_CORRELATION,
                                           CUDNN_DATA_FLOAT),
           CUDNN_STATUS_SUCCESS);
    LIB_OK(cudnnSetConvolutionMathType(c->cd, tf32 ? CUDNN_DEFAULT_MATH : CUDNN_FMA_MATH),
           CUDNN_STATUS_SUCCESS);
    /* cuDNN's first candidate that runs with this math type */
    int got;
    size_t a = 0, b = 0, d = 0;
    bool found = false;
    cudnnConvolutionFwdAlgoPerf_t fp[CUDNN_CONVOLUTION_FWD_ALGO_COUNT];
    cudnnGetConvolutionForwardAlgorithm_v7(c->h, c->xd, c->wd, c->cd, c->yd,
                                           CUDNN_CONVOLUTION_FWD_ALGO_COUNT, &got, fp);
    for (int i = 0; i < got && !found; i++)
        if (fp[i].status == CUDNN_STATUS_SUCCESS &&
            cudnnGetConvolutionForwardWorkspaceSize(c->h, c->xd, c->wd, c->cd, c->yd, fp[i].algo,
                                                    &a) == CUDNN_STATUS_SUCCESS) {
            c->fwd = fp[i].algo;
            found = true;
        }
    LIB_OK(found, true);
    found = false;
    cudnnConvolutionBwdDataAlgoPerf_t dp[CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT];
    cudnnGetConvolutionBackwardDataAlgorithm_v7(c->h, c->wd, c->yd, c->cd, c->xd,
                                                CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT, &got, dp);
    for (int i = 0; i < got && !found; i++)
        if (dp[i].status == CUDNN_STATUS_SUCCESS &&
            cudnnGetConvolutionBackwardDataWorkspaceSize(c->h, c->wd, c->yd, c->cd, c->xd,
                                                         dp[i].algo, &b) == CUDNN_STATUS_SUCCESS) {
            c->data = dp[i].algo;
            found = true;
        }
    LIB_OK(found, true);
    found = false;
    cudnnConvolutionBwdFilterAlgoPerf_t wp[CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT];
    cudnnGetConvolutionBackwardFilterAlgorithm_v7(
        c->h, c->xd, c->yd, c->cd, c->wd, CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT, &got, wp);
    for (int i = 0; i < got && !found; i++)
        if (wp[i].status == CUDNN_STATUS_SUCCESS &&
            cudnnGetConvolutionBackwardFilterWorkspaceSize(
                c->h, c->xd, c->yd, c->cd, c->wd, wp[i].algo, &d) == CUDNN_STATUS_SUCCESS) {
            c->filter = wp[i].algo;
            found = true;
        }
    LIB_OK(found, true);
    c->cudnn_bytes = a > b ? a : b;
    c->cudnn_bytes = d > c->cudnn_bytes ? d : c->cudnn_bytes;
    CUDA_OK(cudaMalloc(&c->cudnn_ws, c->cudnn_bytes ? c->cudnn_bytes : 1));
}

static void direct_release(struct conv_ctx *c) {
    cudaFree(c->cudnn_ws);
    cudnnDestroyTensorDescriptor(c->xd);
    cudnnDestroyTensorDescriptor(c->yd);
    cudnnDestroyFilterDescriptor(c->wd);
    cudnnDestroyConvolutionDescriptor(c->cd);
    cudnnDestroy(c->h);
}

static void bench_conv(const struct peak *pk) {
    printf("\n== convolution 2-D, stride 1, channels last (TFLOP/s)\n");
    printf("%-34s %-16s %10s %10s %8s\n", "batch, HxWxC -> cout, kernel", "pass", "kurc", "cuDNN",
           "% peak");
    struct {
        int64_t batch, h, w, cin, cout, k;
        bool same;
    } shapes[] = {
        {64, 28, 28, 1, 64, 3, false},   /* Kur's MNIST example */
        {128, 32, 32, 64, 64, 3, true},  /* CIFAR-sized */
        {64, 56, 56, 64, 64, 3, true},   /* ResNet stage 1 */
        {32, 14, 14, 256, 256, 3, true}, /* ResNet stage 3 */
        {64, 28, 28, 128, 128, 1, true}, /* 1x1 */
    };
    size_t count = quick ? 2 : sizeof shapes / sizeof *shapes;
    double peak = tf32 ? pk->tf32 : pk->fp32;
    for (size_t s = 0; s < count; s++) {
        struct conv_ctx c;
        memset(&c, 0, sizeof c);
        struct kurc_conv_geom *g = &c.g;
        int64_t pad = shapes[s].same ? shapes[s].k / 2 : 0;
        g->ndim = 2;
        g->batch = shapes[s].batch;
        g->in[0] = shapes[s].h;
        g->in[1] = shapes[s].w;
        g->kernel[0] = g->kernel[1] = shapes[s].k;
        g->stride[0] = g->stride[1] = 1;
        g->pad_before[0] = g->pad_before[1] = pad;
        g->out[0] = shapes[s].h + 2 * pad - shapes[s].k + 1;
        g->out[1] = shapes[s].w + 2 * pad - shapes[s].k + 1;
        g->cin = shapes[s].cin;
        g->cout = shapes[s].cout;
        size_t nx = (size_t)(g->batch * g->in[0] * g->in[1] * g->cin);
        size_t ny = (size_t)(g->batch * g->out[0] * g->out[1] * g->cout);
        size_t nw = (size_t)(g->kernel[0] * g->kernel[1] * g->cin * g->cout);
        c.x = device_floats(nx, 0.01f);
        c.dx = device_floats(nx, 0.0f);
        c.y = device_floats(ny, 0.01f);
        c.w = device_floats(nw, 0.01f);
        c.dw = device_floats(nw, 0.0f);
        size_t ws = be->ops->conv_workspace(be, g);
        c.workspace = be->ops->alloc(be, ws ? ws : 1);
        direct_setup(&c, pad);
        double flops = 2.0 * (double)ny * (double)(g->kernel[0] * g->kernel[1] * g->cin);
        const char *names[3] = {"forward", "backward data", "backward filter"};
        char shape[64];
        snprintf(shape, sizeof shape, "%lld, %lldx%lldx%lld -> %lld, %lldx%lld",
                 (long long)g->batch, (long long)g->in[0], (long long)g->in[1], (long long)g->cin,
                 (long long)g->cout, (long long)g->kernel[0], (long long)g->kernel[1]);
        for (int p = 0; p < 3; p++) {
            c.pass = p;
            c.direct = false;
            double t_kurc = seconds(conv_run, &c);
            c.direct = true;
            double t_direct = seconds(conv_run, &c);
            double tk = flops / t_kurc / 1e12;
            printf("%-34s %-16s %10.2f %10.2f %7.0f%%\n", p ? "" : shape, names[p], tk,
                   flops / t_direct / 1e12, peak > 0 ? 100 * tk / peak : NAN);
        }
        direct_release(&c);
        be->ops->free(be, c.workspace);
        be->ops->free(be, c.x);
        be->ops->free(be, c.dx);
        be->ops->free(be, c.y);
        be->ops->free(be, c.w);
        be->ops->free(be, c.dw);
    }
}

/* --- memory-bound ops -------------------------------------------------------------------- */

struct mem_ctx {
    int op;
    int64_t n;
    float *a, *b, *c, *d;
};

static void mem_run(void *p) {
    struct mem_ctx *m = p;
    switch (m->op) {
    case 0:
        be->ops->axpby(be, m->n, 0.5f, m->a, 0.5f, m->b);
        break;
    case 1:
        be->ops->act_forward(be, KURC_ACT_RELU, 0, m->n, m->a, m->b);
        break;
    case 2:
        be->ops->adam_step(be, m->n, 1e-3f, 0.9f, 0.999f, 1e-8f, m->a, m->b, m->c, m->d);
        break;
    case 3:
        be->ops->bias_backward(be, m->n / 1024, 1024, m->a, m->b);
        break;
    default: {
        double out;
        be->ops->sum(be, m->n, m->a, &out);
    }
    }
}

static void bench_memory(const struct peak *pk) {
    printf("\n== memory-bound ops on 2^26 floats (GB/s moved)\n");
    const int64_t n = (int64_t)1 << 26;
    struct mem_ctx m = {0,
                        n,
                        device_floats((size_t)n, 0.5f),
                        device_floats((size_t)n, 0.5f),
                        device_floats((size_t)n, 0.5f),
                        device_floats((size_t)n, 0.5f)};
    const char *names[] = {"axpby (2 reads, 1 write)", "relu (1 read, 1 write)",
                           "adam_step (4 reads, 3 writes)", "bias_backward (1 read)",
                           "sum to the host (1 read)"};
    int moves[] = {3, 2, 7, 1, 1};
    for (int op = 0; op < 5; op++) {
        m.op = op;
        double t = seconds(mem_run, &m);
        double gbs = (double)moves[op] * (double)n * 4 / t / 1e9;
        printf("%-32s %8.0f GB/s", names[op], gbs);
        if (pk->bandwidth > 0)
            printf("  (%.0f%% of %.0f)", 100 * gbs / pk->bandwidth, pk->bandwidth);
        printf("\n");
    }
    be->ops->free(be, m.a);
    be->ops->free(be, m.b);
    be->ops->free(be, m.c);
    be->ops->free(be, m.d);
}

/* --- NCCL ----------------------------------------------------------------------------------- */

#if KURC_HAVE_NCCL
static void print_busbw_header(int ranks, const char *how) {
    printf("\n== all-reduce of floats over %d GPU%s (%s)\n", ranks, ranks == 1 ? "" : "s", how);
    printf("%12s %12s %12s %12s\n", "bytes", "time (us)", "algbw GB/s", "busbw GB/s");
}

static void print_busbw(size_t bytes, double t, int ranks) {
    double alg = (double)bytes / t / 1e9;
    printf("%12zu %12.1f %12.2f %12.2f\n", bytes, t * 1e6, alg,
           alg * 2.0 * (ranks - 1) / (ranks > 0 ? ranks : 1));
}

/* Every visible GPU in this process (ncclCommInitAll). */
static void bench_nccl_single_process(void) {
    int ndev = kurc_cuda_backend_type.available(NULL, 0);
    int devs[64];
    ndev = ndev > 64 ? 64 : ndev;
    for (int i = 0; i < ndev; i++)
        devs[i] = i;
    ncclComm_t *comms = calloc((size_t)ndev, sizeof *comms);
    cudaStream_t *streams = calloc((size_t)ndev, sizeof *streams);
    float **bufs = calloc((size_t)ndev, sizeof *bufs);
    if (ncclCommInitAll(comms, ndev, devs) != ncclSuccess) {
        printf("\n(ncclCommInitAll failed: no NCCL figures)\n");
        return;
    }
    size_t most = quick ? (size_t)1 << 26 : (size_t)1 << 30;
    for (int i = 0; i < ndev; i++) {
        CUDA_OK(cudaSetDevice(i));
        CUDA_OK(cudaStreamCreate(&streams[i]));
        CUDA_OK(cudaMalloc((void **)&bufs[i], most));
        CUDA_OK(cudaMemset(bufs[i], 0, most));
    }
    print_busbw_header(ndev, ndev == 1 ? "one GPU: a copy, no bus traffic"
                                       : "one process, ncclCommInitAll");
    for (size_t bytes = 1 << 12; bytes <= most; bytes *= 4) {
        size_t count = bytes / sizeof(float);
        int iters = bytes < ((size_t)1 << 24) ? 50 : 10;
        for (int rep = 0; rep < 2; rep++) { /* the first is a warm-up */
            CUDA_OK(cudaSetDevice(0));
            cudaEvent_t start, stop;
            CUDA_OK(cudaEventCreate(&start));
            CUDA_OK(cudaEventCreate(&stop));
            CUDA_OK(cudaEventRecord(start, streams[0]));
            for (int it = 0; it < iters; it++) {
                ncclGroupStart();
                for (int i = 0; i < ndev; i++)
                    ncclAllReduce(bufs[i], bufs[i], count, ncclFloat, ncclSum, comms[i],
                                  streams[i]);
                ncclGroupEnd();
            }
            CUDA_OK(cudaEventRecord(stop, streams[0]));
            for (int i = 0; i < ndev; i++) {
                CUDA_OK(cudaSetDevice(i));
                CUDA_OK(cudaStreamSynchronize(streams[i]));
            }
            float ms;
            CUDA_OK(cudaEventElapsedTime(&ms, start, stop));
            if (rep == 1)
                print_busbw(bytes, ms * 1e-3 / iters, ndev);
            cudaEventDestroy(start);
            cudaEventDestroy(stop);
        }
    }
    for (int i = 0; i < ndev; i++) {
        cudaSetDevice(i);
        cudaFree(bufs[i]);
        cudaStreamDestroy(streams[i]);
        ncclCommDestroy(comms[i]);
    }
    cudaSetDevice(be->ops->device(be));
    free(comms);
    free(streams);
    free(bufs);
}

/* kurc's communicator under mpirun: one GPU per rank. */
static int bench_comm(void) {
    struct kurc_comm *comm;
    struct kurc_err err;
    if (kurc_comm_create(&comm, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    if (kurc_cuda_backend_type.available(NULL, 0) < comm->local_size) {
        if (comm->rank == 0)
            printf("skipped: %d ranks per node need as many GPUs\n", comm->local_size);
        kurc_comm_free(comm);
        return 77;
    }
    struct kurc_backend_options opt = {.device = comm->local_rank, .rank = comm->rank};
    if (kurc_cuda_backend_type.create(&opt, &be, &err) ||
        kurc_comm_attach_backend(&comm, be, &err)) {
        fprintf(stderr, "rank %d: %s\n", comm->rank, err.msg);
        comm->ops->abort(comm, 1);
    }
    stream = (cudaStream_t)be->ops->stream(be);
    size_t most = quick ? (size_t)1 << 26 : (size_t)1 << 30;
    float *buf = device_floats(most / sizeof(float), 0.0f);
    if (comm->rank == 0)
        print_busbw_header(comm->size, comm->ops->name);
    for (size_t bytes = 1 << 12; bytes <= most; bytes *= 4) {
        int64_t count = (int64_t)(bytes / sizeof(float));
        int iters = bytes < ((size_t)1 << 24) ? 50 : 10;
        double t = 0;
        for (int rep = 0; rep < 2; rep++) {
            comm->ops->barrier(comm, &err);
            cudaEvent_t start, stop;
            cudaEventCreate(&start);
            cudaEventCreate(&stop);
            cudaEventRecord(start, stream);
            for (int it = 0; it < iters; it++)
                if (comm->ops->allreduce_float(comm, buf, count, &err)) {
                    fprintf(stderr, "%s\n", err.msg);
                    comm->ops->abort(comm, 1);
                }
            cudaEventRecord(stop, stream);
            cudaEventSynchronize(stop);
            float ms;
            cudaEventElapsedTime(&ms, start, stop);
            t = ms * 1e-3 / iters;
            cudaEventDestroy(start);
            cudaEventDestroy(stop);
        }
        /* the ranks' mean time (they finish together, give or take) */
        double sum = t;
        comm->ops->allreduce_double(comm, &sum, 1, &err);
        if (comm->rank == 0)
            print_busbw(bytes, sum / comm->size, comm->size);
    }
    be->ops->free(be, buf);
    kurc_comm_free(comm);
    kurc_backend_release(be);
    return 0;
}
#endif

int main(int argc, char **argv) {
    bool comm_mode = false, gpus = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0)
            quick = true;
        else if (strcmp(argv[i], "--comm") == 0)
            comm_mode = true;
        else if (strcmp(argv[i], "--gpus") == 0)
            gpus = true;
        else {
            fprintf(stderr, "usage: bench_gpu [--quick] [--comm] [--gpus]\n");
            return 2;
        }
    }
    char why[256];
    int count = kurc_cuda_backend_type.available(why, sizeof why);
    if (gpus) {
        printf("%d\n", count);
        return count ? 0 : 77;
    }
    if (count == 0)
        return ct_no_gpu_status(why, true);
    const char *t = getenv("KURC_CUDA_TF32");
    tf32 = t && *t && strcmp(t, "0") != 0;
    if (comm_mode) {
#if KURC_HAVE_NCCL
        return bench_comm();
#else
        printf("skipped: this build has no NCCL\n");
        return 77;
#endif
    }
    struct kurc_backend_options opt = {.device = 0, .rank = -1, .allow_tf32 = tf32};
    struct kurc_err err;
    if (kurc_cuda_backend_type.create(&opt, &be, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    stream = (cudaStream_t)be->ops->stream(be);
    char name[256], what[256];
    struct peak pk = device_peak(0, name, sizeof name);
    be->ops->describe(be, what, sizeof what);
    printf("kurc backend: %s\n", what);
    printf("nominal peak: FP32 %.1f TFLOP/s, TF32 tensor %.1f TFLOP/s, memory %.0f GB/s "
           "(%s; %% peak below is against %s)\n",
           pk.fp32, pk.tf32, pk.bandwidth, pk.tf32 > 0 ? "data sheet" : "from clocks, approximate",
           tf32 ? "TF32" : "FP32");
    cublasHandle_t handle;
    LIB_OK(cublasCreate(&handle), CUBLAS_STATUS_SUCCESS);
    cublasSetStream(handle, stream);
    cublasSetMathMode(handle, tf32 ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_DEFAULT_MATH);
    bench_dense(handle, &pk);
    cublasDestroy(handle);
    bench_conv(&pk);
    bench_memory(&pk);
#if KURC_HAVE_NCCL
    bench_nccl_single_process();
#else
    printf("\n(this build has no NCCL: no all-reduce figures)\n");
#endif
    kurc_backend_release(be);
    return 0;
}
