/* load_async.c - loading a data list on a thread of its own (supplier.h),
 * so that a second data set (validation) decodes beside the first
 * (training) on another core.  Only suppliers marked `concurrent` run so:
 * those that share no state between threads (HDF5, for one, may be built
 * without thread safety), and only when nothing is downloaded. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "base/xalloc.h"
#include "data/supplier.h"

struct kurc_data_job {
    const struct kurc_value *list;
    struct kurc_dataset *out;
    pthread_t thread;
    bool started; /* false: loaded in kurc_data_load_start itself */
    enum kurc_status st;
    struct kurc_err err;
};

/* Whether v (a supplier's parameters) names a URL anywhere. */
static bool names_url(const struct kurc_value *v) {
    if (v->kind == KURC_LIST)
        for (size_t i = 0; i < v->u.list.len; i++)
            if (names_url(v->u.list.items[i]))
                return true;
    if (v->kind == KURC_MAP)
        for (size_t i = 0; i < v->u.map.len; i++) {
            const struct kurc_pair *p = &v->u.map.pairs[i];
            if ((strcmp(p->key, "url") == 0 && p->val->kind != KURC_NULL) || names_url(p->val))
                return true;
        }
    return false;
}

bool kurc_data_concurrent(const struct kurc_value *list) {
    if (!list || list->kind != KURC_LIST)
        return list == NULL || list->kind == KURC_NULL;
    for (size_t i = 0; i < list->u.list.len; i++) {
        const struct kurc_value *entry = list->u.list.items[i];
        if (entry->kind != KURC_MAP)
            return false;
        for (size_t k = 0; k < entry->u.map.len; k++) {
            const struct kurc_pair *p = &entry->u.map.pairs[k];
            if (strcmp(p->key, "when") == 0 || strcmp(p->key, "name") == 0)
                continue;
            const struct kurc_supplier_type *type = kurc_supplier_find(p->key);
            if (!type || !type->concurrent || names_url(p->val))
                return false;
        }
    }
    return true;
}

static void *run(void *arg) {
    struct kurc_data_job *job = arg;
    job->st = kurc_data_load(job->list, job->out, &job->err);
    return NULL;
}

struct kurc_data_job *kurc_data_load_start(const struct kurc_value *list,
                                           struct kurc_dataset *out) {
    struct kurc_data_job *job = kurc_xcalloc(1, sizeof *job);
    job->list = list;
    job->out = out;
    kurc_dataset_init(out);
    job->started = pthread_create(&job->thread, NULL, run, job) == 0;
    if (!job->started) /* no thread to be had: load it here */
        run(job);
    return job;
}

enum kurc_status kurc_data_load_finish(struct kurc_data_job *job, struct kurc_err *err) {
    if (job->started)
        pthread_join(job->thread, NULL);
    enum kurc_status st = job->st;
    if (st && err)
        *err = job->err;
    free(job);
    return st;
}
