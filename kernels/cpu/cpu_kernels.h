/* cpu_kernels.h - the CPU backend's kernels, one function per slot of
 * struct kurc_backend_ops (see src/core/backend.h for every contract).  Matrix
 * work goes to OpenBLAS; the rest is plain C. */
#ifndef KURC_CPU_KERNELS_H
#define KURC_CPU_KERNELS_H

#include "core/backend.h"

void cpu_fill(struct kurc_backend *be, float *x, int64_t n, float value);
void cpu_gemm(struct kurc_backend *be, bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k,
              float alpha, const float *a, int64_t lda, const float *b, int64_t ldb, float beta,
              float *c, int64_t ldc);
void cpu_bias_add(struct kurc_backend *be, int64_t rows, int64_t cols, float *y, const float *bias);
void cpu_bias_backward(struct kurc_backend *be, int64_t rows, int64_t cols, const float *dy,
                       float *dbias);
size_t cpu_conv_workspace(struct kurc_backend *be, const struct kurc_conv_geom *g);
void cpu_conv_forward(struct kurc_backend *be, const struct kurc_conv_geom *g, const float *x,
                      const float *w, float *y, void *workspace);
void cpu_conv_backward_data(struct kurc_backend *be, const struct kurc_conv_geom *g,
                            const float *dy, const float *w, float *dx, void *workspace);
void cpu_conv_backward_filter(struct kurc_backend *be, const struct kurc_conv_geom *g,
                              const float *x, const float *dy, float *dw, void *workspace);
void cpu_pool_forward(struct kurc_backend *be, const struct kurc_pool_geom *g, const float *x,
                      float *y);
void cpu_pool_backward(struct kurc_backend *be, const struct kurc_pool_geom *g, const float *x,
                       const float *y, const float *dy, float *dx);
void cpu_act_forward(struct kurc_backend *be, enum kurc_act act, float alpha, int64_t n,
                     const float *x, float *y);
void cpu_act_backward(struct kurc_backend *be, enum kurc_act act, float alpha, int64_t n,
                      const float *x, const float *y, const float *dy, float *dx);
void cpu_softmax_forward(struct kurc_backend *be, bool log, int64_t rows, int64_t cols,
                         const float *x, float *y);
void cpu_softmax_backward(struct kurc_backend *be, bool log, int64_t rows, int64_t cols,
                          const float *y, const float *dy, float *dx);
void cpu_add(struct kurc_backend *be, int64_t n, const float *a, const float *b, float *y);
void cpu_mul(struct kurc_backend *be, int64_t n, const float *a, const float *b, float *y);
void cpu_axpby(struct kurc_backend *be, int64_t n, float alpha, const float *x, float beta,
               float *y);
void cpu_mul_backward(struct kurc_backend *be, int64_t n, const float *dy, const float *other,
                      float *dx);
void cpu_copy_strided(struct kurc_backend *be, const struct kurc_strided *view, const float *src,
                      float *dst, bool accumulate);
void cpu_gather(struct kurc_backend *be, int64_t n, int64_t width, int64_t rows, const float *index,
                const float *table, float *out);
void cpu_gather_backward(struct kurc_backend *be, int64_t n, int64_t width, int64_t rows,
                         const float *index, const float *dout, float *dtable);
void cpu_dropout_forward(struct kurc_backend *be, int64_t n, float rate, uint64_t seed,
                         uint64_t offset, const float *x, float *y, float *mask);
void cpu_batchnorm_forward(struct kurc_backend *be, int64_t outer, int64_t channels, int64_t inner,
                           float eps, const float *x, const float *gamma, const float *beta,
                           float *y, float *mean, float *invstd);
void cpu_batchnorm_backward(struct kurc_backend *be, int64_t outer, int64_t channels, int64_t inner,
                            const float *x, const float *dy, const float *gamma, const float *mean,
                            const float *invstd, float *dx, float *dgamma, float *dbeta);
void cpu_batchnorm_sums(struct kurc_backend *be, int64_t outer, int64_t channels, int64_t inner,
                        const float *x, const float *dy, const double *center, double *s1,
                        double *s2);
void cpu_batchnorm_affine(struct kurc_backend *be, int64_t outer, int64_t channels, int64_t inner,
                          const float *x, const float *hi, const float *lo, const float *k,
                          const float *dy, const float *a, const float *b, float *out,
                          bool accumulate);
void cpu_cce_forward(struct kurc_backend *be, int64_t rows, int64_t cols, const float *pred,
                     const float *truth, float *loss);
void cpu_cce_backward(struct kurc_backend *be, int64_t rows, int64_t cols, const float *pred,
                      const float *truth, float scale, float *dpred);
void cpu_mse_forward(struct kurc_backend *be, int64_t rows, int64_t cols, const float *pred,
                     const float *truth, float *loss);
void cpu_mse_backward(struct kurc_backend *be, int64_t rows, int64_t cols, const float *pred,
                      const float *truth, float scale, float *dpred);
void cpu_sum(struct kurc_backend *be, int64_t n, const float *x, double *out);
void cpu_sum_squares(struct kurc_backend *be, int64_t n, const float *x, double *out);
void cpu_clip(struct kurc_backend *be, int64_t n, float limit, float *x);
void cpu_sgd_step(struct kurc_backend *be, int64_t n, float lr, float momentum, bool nesterov,
                  float *p, const float *g, float *v);
void cpu_adam_step(struct kurc_backend *be, int64_t n, float lr_t, float beta1, float beta2,
                   float eps, float *p, const float *g, float *m, float *v);
void cpu_rmsprop_step(struct kurc_backend *be, int64_t n, float lr, float rho, float eps, float *p,
                      const float *g, float *a);
void cpu_adadelta_step(struct kurc_backend *be, int64_t n, float lr, float rho, float eps, float *p,
                       const float *g, float *a, float *d);
void cpu_rnn_forward_gates(struct kurc_backend *be, const struct kurc_rnn_step *s);
void cpu_rnn_forward_step(struct kurc_backend *be, const struct kurc_rnn_step *s);
void cpu_rnn_backward_step(struct kurc_backend *be, const struct kurc_rnn_step *s);
void cpu_rnn_backward_gates(struct kurc_backend *be, const struct kurc_rnn_step *s);
size_t cpu_ctc_workspace(struct kurc_backend *be, const struct kurc_ctc_geom *g);
void cpu_ctc_forward(struct kurc_backend *be, const struct kurc_ctc_geom *g, const float *prob,
                     const float *labels, const float *label_len, const float *input_len,
                     float scale, float *loss, void *workspace);
void cpu_ctc_backward(struct kurc_backend *be, const struct kurc_ctc_geom *g, const float *prob,
                      const float *labels, const float *label_len, const float *input_len,
                      float scale, float *dprob, void *workspace);

#endif
