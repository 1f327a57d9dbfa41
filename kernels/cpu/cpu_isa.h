/* cpu_isa.h - hot loops built once per instruction set.  The CPU library
 * is built for the baseline x86-64 (SSE2); a loop that gains from wider
 * vectors is written once, as NAME_body (static, always inlined), and
 * KURC_CPU_VARIANTS builds it for AVX-512, AVX2 and the baseline, with
 * NAME_pick() returning the widest this CPU runs.  (GCC's target_clones
 * would do the same, but clang 14 does not export such a function to
 * other files.)  The loops built so are ones whose bits do not depend on
 * the vector width: each output computed alone, or sums whose lanes are
 * explicit; none is contracted into fused multiply-adds, since the files
 * are built with -ffp-contract=off (CMakeLists.txt). */
#ifndef KURC_CPU_ISA_H
#define KURC_CPU_ISA_H

#if defined(__x86_64__)
#define KURC_CPU_VARIANTS(name, params, args)                                                      \
    __attribute__((target("avx512f"))) static void name##_avx512 params {                          \
        name##_body args;                                                                          \
    }                                                                                              \
    __attribute__((target("avx2"))) static void name##_avx2 params {                               \
        name##_body args;                                                                          \
    }                                                                                              \
    static void name##_base params {                                                               \
        name##_body args;                                                                          \
    }                                                                                              \
    static void(*name##_pick(void)) params {                                                       \
        return __builtin_cpu_supports("avx512f") ? name##_avx512                                   \
               : __builtin_cpu_supports("avx2")  ? name##_avx2                                     \
                                                 : name##_base;                                     \
    }
#else
#define KURC_CPU_VARIANTS(name, params, args)                                                      \
    static void name##_base params {                                                               \
        name##_body args;                                                                          \
    }                                                                                              \
    static void(*name##_pick(void)) params {                                                       \
        return name##_base;                                                                        \
    }
#endif

#endif
