/* datatest.h - helpers for the data tests: a scratch directory that is
 * also the working directory (suppliers read relative paths from there, as
 * Kur did), files written into it, Kurfile snippets parsed from text and
 * error checks. */
#ifndef KURC_DATATEST_H
#define KURC_DATATEST_H

#include "base/status.h"
#include "config/value/value.h"

/* Creates a scratch directory and makes it the working directory; returns
 * 0 (a cmocka group setup). */
int dt_setup(void **state);

/* Goes back to the first working directory and removes the scratch one
 * (flat: files only); returns 0 (a cmocka group teardown). */
int dt_teardown(void **state);

/* The absolute path of name in the scratch directory (a new string). */
char *dt_path(const char *name);

/* Writes text into name in the scratch directory. */
void dt_write(const char *name, const char *text);

/* Parses YAML text (file name "test.yml") and fails the test if it is not
 * valid; the tree is freed at teardown. */
struct kurc_value *dt_yaml(const char *text);

/* Checks that got is the status want and that the formatted error
 * ("FILE:LINE:COL: message") contains needle; prints it either way. */
void dt_expect_error(enum kurc_status got, const struct kurc_err *err, enum kurc_status want,
                     const char *needle);

/* Fails the test with the error's text unless st is KURC_OK. */
void dt_expect_ok(enum kurc_status st, const struct kurc_err *err);

#endif
