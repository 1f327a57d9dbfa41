/* kurfile.h - a Kurfile: loaded, merged with its includes, and parsed.
 *
 * Loading reads the file and its includes into one tree (kurc_kurfile_raw,
 * what `kurc dump --pre-parse` prints).  Parsing then does what Kur's
 * Kurfile.parse does, in Kur's order and with Kur's scopes:
 *
 *   base scope: filename, raw (the merged tree), parsed (the live tree), host
 *   1. settings  - evaluated with its own raw keys in scope as settings.X;
 *                  its evaluated keys then become visible bare and as
 *                  settings.X
 *   2. train, validate, test, evaluate (each under any of its aliases) -
 *                  evaluated, then visible to later sections by name
 *   3. templates - registered unevaluated
 *   4. model     - kept unevaluated; the model builder evaluates each
 *                  container through the engine
 *   5. loss      - evaluated last
 *
 * As in Kur, the evaluated section is stored under every alias of its name
 * (a `train` section is also `training`), so the parsed tree is what
 * `kur dump` printed.  Unlike Kur, an unknown section, an unknown key in a
 * known section or a value of the wrong kind is an error naming its place.
 */
#ifndef KURC_KURFILE_H
#define KURC_KURFILE_H

#include "base/status.h"
#include "config/component.h"
#include "config/engine.h"
#include "config/sources.h"
#include "config/value/value.h"

struct kurc_kurfile {
    char *path;                   /* as given, ~ and $VAR expanded */
    struct kurc_sources *sources; /* owns the file names of every location */
    struct kurc_value *raw;       /* merged tree before parsing */
    struct kurc_value *data;      /* after kurc_kurfile_parse: the parsed tree */
    struct kurc_engine *engine;   /* after parsing: the scopes the model builder extends */
    int (*gpu_count)(void);       /* for the gpu_count() template global (NULL: 0); set
                                   * before parsing, called only if a template asks */
};

/* Loads path and its includes.  *out is new; free with kurc_kurfile_free. */
enum kurc_status kurc_kurfile_load(const char *path, struct kurc_kurfile **out,
                                   struct kurc_err *err);

/* A Kurfile from text already in memory (YAML, no includes); name is the
 * file name used in messages. */
enum kurc_status kurc_kurfile_from_text(const char *text, size_t len, const char *name,
                                        struct kurc_kurfile **out, struct kurc_err *err);

/* Evaluates and checks every section (see above).  components are the
 * suppliers, hooks, optimizers and losses an entry may name, each with the
 * schema of its parameters (config/component.h); with NULL, entries naming
 * one are checked for their shape only. */
enum kurc_status kurc_kurfile_parse(struct kurc_kurfile *kf,
                                    const struct kurc_components *components,
                                    struct kurc_err *err);

/* A parsed section by its canonical name (settings, train, validate, test,
 * evaluate, templates, model, loss), or NULL when absent. */
const struct kurc_value *kurc_kurfile_section(const struct kurc_kurfile *kf, const char *name);

void kurc_kurfile_free(struct kurc_kurfile *kf);

#endif
