/* lazy_lib.h - shared libraries opened on first use (dlopen) rather than
 * linked: cairo for the plot hook, libsndfile, libsamplerate and FFTW for
 * speech.  A run that neither plots nor reads audio maps none of them,
 * which keeps `kurc --version` and a CPU start short, and a missing one
 * fails only the run that needs it, naming the library and the loader's
 * reason.
 *
 * A user lists the library's functions in an X-macro, declares from it
 * an enumeration and a table (KURC_LAZY_DECLARE) and the array of names
 * (KURC_LAZY_NAMES), and calls each function through KURC_LAZY_CALL,
 * which casts the stored address back to the type the library's header
 * declares. */
#ifndef KURC_LAZY_LIB_H
#define KURC_LAZY_LIB_H

#include <stdatomic.h>
#include <stddef.h>

#include "base/status.h"

/* Any function's address; a cast back to the right type calls it. */
typedef void (*kurc_lazy_fn)(void);

struct kurc_lazy_lib {
    const char *file;         /* the library's soname, e.g. "libcairo.so.2" */
    const char *const *names; /* the functions used, n of them */
    size_t n;
    kurc_lazy_fn *fns; /* filled by kurc_lazy_lib_load: fns[i] is names[i] */
    atomic_int state;  /* 0: not tried, 1: loaded, -1: failed (failure says why) */
    char failure[384];
};

/* Opens lib once per process (thread-safe; later calls give the same
 * answer).  Fails with KURC_E_UNSUPPORTED: "USER needs FILE, which cannot
 * be loaded: REASON", at loc (the Kurfile's, or NULL). */
enum kurc_status kurc_lazy_lib_load(struct kurc_lazy_lib *lib, const char *user,
                                    const struct kurc_loc *loc, struct kurc_err *err);

/* A library's functions are listed as LIST(X, P): X(P, name) for each.
 * KURC_LAZY_DECLARE(P, LIST, fns) declares the enumeration P_name, ...,
 * P_COUNT and the table fns; KURC_LAZY_NAMES(P, LIST) is the initializer
 * of the array of their names. */
#define KURC_LAZY_ENUM_ITEM(P, f) P##_##f,
#define KURC_LAZY_NAME_ITEM(P, f) #f,
#define KURC_LAZY_DECLARE(P, list, fns)                                                            \
    enum { list(KURC_LAZY_ENUM_ITEM, P) P##_COUNT };                                               \
    extern kurc_lazy_fn fns[P##_COUNT];
#define KURC_LAZY_NAMES(P, list)                                                                   \
    { list(KURC_LAZY_NAME_ITEM, P) }

/* Function f of the loaded table fns (fns[P_f]), typed as declared. */
#define KURC_LAZY_CALL(fns, P, f) ((__typeof__(&f))(fns)[P##_##f])

#endif
