/* cpu_kernels.h - the CPU backend's functions, cpu_<slot> for every slot
 * of struct kurc_backend_ops (contracts in core/backend_slots.def), each
 * in the file of kernels/cpu named for what it computes.  Matrix work goes
 * to OpenBLAS, but for the narrow convolution products of conv_narrow.c;
 * the rest is plain C (some loops built per instruction set: cpu_isa.h). */
#ifndef KURC_CPU_KERNELS_H
#define KURC_CPU_KERNELS_H

#include "core/backend.h"

/* cpu_<slot> for every slot (core/backend_slots.def). */
#define KURC_SLOT(ret, slot, params) ret cpu_##slot params;
#include "core/backend_slots.def"

/* Between kernels (epilogue.c, for conv.c): dz = act'(y) dy over rows x
 * cols (act fusable); with acc (width doubles), only columns [c0, c0 +
 * width), whose sums of dz over the rows, in order, are added to acc: the
 * sums bias_act_backward makes, so a tensor's rows summed in pieces into
 * one acc give its bits. */
void cpu_act_backward_sum(int64_t rows, int64_t cols, int64_t c0, int64_t width,
                          enum kurc_act act, float alpha, const float *y, const float *dy,
                          float *dz, double *acc);

/* The convolution's products over a transposed lowered chunk (cols, kc x
 * nr, row stride ld) in conv_narrow.c, for shapes it fits (kc at most 32,
 * cout a multiple of 32): y (nr x cout) = cols^T w; dw (kc x cout) += cols dz. */
bool cpu_conv_narrow_fits(int64_t kc, int64_t cout);
void cpu_conv_narrow_forward(int64_t nr, int64_t kc, int64_t cout, const float *cols, int64_t ld,
                             const float *w, float *y);
void cpu_conv_narrow_filter(int64_t nr, int64_t kc, int64_t cout, const float *cols, int64_t ld,
                            const float *dz, float *dw);

/* The op table of those functions (table.c). */
extern const struct kurc_backend_ops kurc_cpu_ops;

#endif
