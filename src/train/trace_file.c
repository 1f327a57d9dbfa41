/* trace_file.c - gathering the ranks' traces into one file (see trace_file.h). */
#include "train/trace_file.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/log.h"
#include "base/strbuf.h"
#include "base/xalloc.h"
#include "io/io_util.h"

/* Rank 0: can path be written?  Creates the empty FILE.tmp. */
static enum kurc_status check_path(const char *path, struct kurc_err *err) {
    struct stat sb;
    if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode))
        return kurc_io_fail(err, KURC_E_USAGE, path, "--trace: a directory, not a file");
    char *tmp = kurc_io_tmp_path(path);
    FILE *f = fopen(tmp, "w");
    int e = errno;
    enum kurc_status st = KURC_OK;
    if (!f)
        st = kurc_io_fail(err, KURC_E_USAGE, path, "--trace: cannot write the trace (%s: %s)",
                          tmp, strerror(e));
    else
        fclose(f);
    free(tmp);
    return st;
}

enum kurc_status kurc_trace_file_open(struct kurc_comm *comm, const char *path,
                                      int64_t max_steps, struct kurc_trace **out,
                                      struct kurc_err *err) {
    *out = NULL;
    enum kurc_status st = comm->rank == 0 ? check_path(path, err) : KURC_OK;
    double flag = st ? 1 : 0;
    struct kurc_err ignored;
    enum kurc_status cst = comm->ops->allreduce_double(comm, &flag, 1, st ? &ignored : err);
    if (st)
        return st;
    if (cst)
        return cst;
    if (flag > 0) {
        /* rank 0 reports it and ends the job; the others wait for that */
        comm->ops->barrier(comm, &ignored);
        return kurc_err_set(err, KURC_E_USAGE, NULL, "rank 0 cannot write the trace %s", path);
    }
    if ((st = comm->ops->barrier(comm, err)))
        return st;
    *out = kurc_trace_create(max_steps);
    return KURC_OK;
}

/* Rank 0: the file from its own events and every other rank's. */
static enum kurc_status gather_write(struct kurc_comm *comm, const char *path,
                                     const struct kurc_strbuf *mine, struct kurc_err *err) {
    char *tmp = kurc_io_tmp_path(path);
    FILE *f = fopen(tmp, "w");
    enum kurc_status st = KURC_OK;
    if (!f)
        st = kurc_io_fail(err, KURC_E_IO, path, "cannot write the trace (%s: %s)", tmp,
                          strerror(errno));
    if (f)
        fputs("{\"traceEvents\":[\n", f);
    if (f)
        fwrite(mine->data, 1, mine->len, f);
    char *buf = NULL;
    for (int r = 1; r < comm->size && st == KURC_OK; r++) {
        uint64_t len = 0;
        st = kurc_comm_recv(comm, &len, sizeof len, r, err);
        if (st == KURC_OK) {
            buf = kurc_xrealloc(buf, len ? (size_t)len : 1);
            st = kurc_comm_recv(comm, buf, (size_t)len, r, err);
        }
        if (st == KURC_OK) {
            fputs(",\n", f);
            fwrite(buf, 1, (size_t)len, f);
        }
    }
    free(buf);
    if (f) {
        fputs("\n],\"displayTimeUnit\":\"ms\"}\n", f);
        bool bad = ferror(f) != 0;
        bad = fclose(f) != 0 || bad;
        if (st == KURC_OK && bad)
            st = kurc_io_fail(err, KURC_E_IO, path, "cannot write the trace to %s", tmp);
        if (st == KURC_OK)
            st = kurc_io_commit(tmp, path, KURC_E_IO, err);
        else
            unlink(tmp);
    }
    free(tmp);
    return st;
}

enum kurc_status kurc_trace_file_close(struct kurc_comm *comm, const char *path,
                                       struct kurc_trace *t, enum kurc_status st,
                                       struct kurc_err *err) {
    if (!t)
        return st;
    if (st) {
        if (comm->rank == 0) {
            char *tmp = kurc_io_tmp_path(path);
            unlink(tmp);
            free(tmp);
        }
        kurc_trace_free(t);
        return st;
    }
    struct kurc_strbuf json = KURC_STRBUF_INIT;
    kurc_trace_json(t, comm->rank, &json);
    int64_t spans = kurc_trace_count(t);
    kurc_trace_free(t);
    if (comm->rank != 0) {
        uint64_t len = json.len;
        st = kurc_comm_send(comm, &len, sizeof len, 0, err);
        if (st == KURC_OK)
            st = kurc_comm_send(comm, json.data, json.len, 0, err);
    } else {
        st = gather_write(comm, path, &json, err);
        if (st == KURC_OK)
            kurc_log(KURC_LOG_INFO, "wrote the trace of %d rank%s to %s (%lld spans on rank 0)",
                     comm->size, comm->size == 1 ? "" : "s", path, (long long)spans);
    }
    kurc_strbuf_free(&json);
    return st;
}
