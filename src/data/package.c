/* package.c - Kur's standard packaging of data files (package.h): a local
 * path, a URL downloaded with libcurl into a directory, and SHA-256
 * checksums computed with OpenSSL.
 *
 * Downloads are written to a hidden temporary file beside the target
 * (download_tmp.h), checked against the checksum and only then renamed over
 * the target, so an interrupted or corrupt download never leaves a file that
 * a later run would take for the real one.  A download may take at most the
 * free space of the disk it is written to; a file:// URL must name a
 * regular file (not a directory, nor a device such as /dev/zero).
 */
#include "data/package.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <openssl/evp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "base/kurc_config.h"
#include "base/log.h"
#include "base/paths.h"
#include "base/progress.h"
#include "base/xalloc.h"
#include "data/download_tmp.h"

enum kurc_status kurc_package_sha256(const char *path, char hex[65], struct kurc_err *err) {
    FILE *f = fopen(path, "rb");
    if (!f)
        return kurc_err_set(err, KURC_E_IO, NULL, "cannot read %s: %s", path, strerror(errno));
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (!ctx || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) {
        EVP_MD_CTX_free(ctx);
        fclose(f);
        return kurc_err_set(err, KURC_E_IO, NULL, "cannot start a SHA-256 digest for %s", path);
    }
    enum { CHUNK = 1 << 16 };
    unsigned char *chunk = kurc_xmalloc(CHUNK);
    size_t n;
    bool ok = true;
    while ((n = fread(chunk, 1, CHUNK, f)) > 0)
        ok = ok && EVP_DigestUpdate(ctx, chunk, n) == 1;
    int read_errno = ferror(f) ? (errno ? errno : EIO) : 0;
    fclose(f);
    free(chunk);
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int dlen = 0;
    ok = ok && EVP_DigestFinal_ex(ctx, digest, &dlen) == 1 && dlen == 32;
    EVP_MD_CTX_free(ctx);
    if (read_errno)
        return kurc_err_set(err, KURC_E_IO, NULL, "cannot read %s: %s", path, strerror(read_errno));
    if (!ok)
        return kurc_err_set(err, KURC_E_IO, NULL, "SHA-256 digest of %s failed", path);
    for (unsigned i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", digest[i]);
    return KURC_OK;
}

/* The string under key in a packaging mapping: NULL when absent or null.
 * *loc gets the value's place (for messages about it). */
static enum kurc_status spec_string(const struct kurc_value *spec, const char *key,
                                    const char **out, const struct kurc_loc **loc,
                                    struct kurc_err *err) {
    const struct kurc_value *v = kurc_map_get(spec, key);
    *out = NULL;
    *loc = v ? &v->loc : &spec->loc;
    if (!v || v->kind == KURC_NULL)
        return KURC_OK;
    if (v->kind != KURC_STR)
        return kurc_err_set(err, KURC_E_CONFIG, &v->loc, "\"%s\" must be a string, not %s", key,
                            kurc_kind_phrase(v->kind));
    *out = v->u.str.s;
    return KURC_OK;
}

static bool is_sha256_hex(const char *s) {
    size_t n = 0;
    for (; s[n]; n++)
        if (!strchr("0123456789abcdefABCDEF", s[n]))
            return false;
    return n == 64;
}

/* Python's tempfile.gettempdir(), reduced to $TMPDIR, $TEMP, $TMP or /tmp:
 * the first that names a directory. */
static const char *temp_dir(void) {
    const char *vars[] = {"TMPDIR", "TEMP", "TMP"};
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++) {
        const char *d = getenv(vars[i]);
        struct stat st;
        if (d && *d && stat(d, &st) == 0 && S_ISDIR(st.st_mode))
            return d;
    }
    return "/tmp";
}

/* One download; its progress is drawn on stderr when it is a terminal. */
struct download {
    const char *url;
    FILE *out;
    int write_errno;
    curl_off_t room;    /* the bytes it may take: the disk's free space */
    curl_off_t written; /* the bytes it took */
    struct kurc_progress bar;
};

static size_t write_chunk(char *data, size_t size, size_t nmemb, void *arg) {
    struct download *d = arg;
    if ((curl_off_t)nmemb > d->room - d->written) {
        d->written = d->room + 1; /* refused: more than there is room for */
        return 0;
    }
    d->written += (curl_off_t)nmemb;
    size_t n = fwrite(data, size, nmemb, d->out);
    if (n != nmemb && !d->write_errno)
        d->write_errno = errno ? errno : EIO;
    return n * size;
}

/* libcurl's progress callback: stops a download whose size, once known
 * (a Content-Length, a local file's size), is more than there is room for;
 * draws the bar on a terminal. */
static int on_progress(void *arg, curl_off_t total, curl_off_t now, curl_off_t up_total,
                       curl_off_t up_now) {
    (void)up_total;
    (void)up_now;
    struct download *d = arg;
    if (total > d->room) {
        d->written = d->room + 1; /* refused: more than there is room for */
        return 1;
    }
    d->bar.total = total > 0 ? total : -1; /* known once the headers came */
    if (d->bar.tty)
        kurc_progress_update(&d->bar, now, NAN);
    return 0;
}

/* Fetches url into the open file d->out.  Errors name the URL and the
 * reason: curl's error text or the HTTP status. */
static enum kurc_status transfer(struct download *d, struct kurc_err *err) {
    CURL *curl = curl_easy_init();
    if (!curl)
        return kurc_err_set(err, KURC_E_IO, NULL, "cannot download %s: libcurl failed to start",
                            d->url);
    char errbuf[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(curl, CURLOPT_URL, d->url);
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https,file");
    curl_easy_setopt(curl, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(curl, CURLOPT_MAXREDIRS, 20L);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_USERAGENT, "kurc/" KURC_VERSION);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, write_chunk);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, d);
    curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(curl, CURLOPT_XFERINFODATA, d);
    CURLcode rc = curl_easy_perform(curl);
    long status = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(curl);
    kurc_progress_finish(&d->bar);
    if (d->written > d->room)
        return kurc_err_set(err, KURC_E_IO, NULL,
                            "cannot download %s: it is larger than the free disk space (%lld "
                            "bytes)",
                            d->url, (long long)d->room);
    if (d->write_errno)
        return kurc_err_set(err, KURC_E_IO, NULL, "cannot download %s: writing the file failed: %s",
                            d->url, strerror(d->write_errno));
    if (rc != CURLE_OK)
        return kurc_err_set(err, KURC_E_IO, NULL, "cannot download %s: %s", d->url,
                            errbuf[0] ? errbuf : curl_easy_strerror(rc));
    if (status >= 400)
        return kurc_err_set(err, KURC_E_IO, NULL, "cannot download %s: HTTP status %ld", d->url,
                            status);
    return KURC_OK;
}

/* Downloads url to target through a temporary file in target's directory;
 * with a checksum, the download must match it before it replaces target. */
static enum kurc_status download(const char *url, const char *target, const char *checksum,
                                 const struct kurc_loc *checksum_loc, struct kurc_err *err) {
    char *dir = kurc_path_dirname(target);
    const char *base = strrchr(target, '/') ? strrchr(target, '/') + 1 : target;
    struct statvfs fs;
    curl_off_t room = statvfs(*dir ? dir : ".", &fs) == 0 ? (curl_off_t)(fs.f_bavail * fs.f_frsize)
                                                          : (curl_off_t)INT64_MAX;
    free(dir);
    kurc_download_tmp_clean(target);
    char *tmp = kurc_download_tmp_name(target);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0) {
        enum kurc_status st = kurc_err_set(err, KURC_E_IO, NULL,
                                           "cannot download %s: cannot create %s: %s", url, tmp,
                                           strerror(errno));
        free(tmp);
        return st;
    }
    kurc_log(KURC_LOG_INFO, "downloading %s to %s", url, target);
    struct download d = {.url = url, .out = fdopen(fd, "wb"), .room = room};
    char *label = kurc_xasprintf("Downloading %s", base);
    kurc_progress_start(&d.bar, label, KURC_PROGRESS_BYTES, -1, true);
    free(label);
    enum kurc_status st;
    if (!d.out) {
        st = kurc_err_set(err, KURC_E_IO, NULL, "cannot download %s: cannot open %s: %s", url, tmp,
                          strerror(errno));
        close(fd);
    } else {
        st = transfer(&d, err);
        if (fclose(d.out) != 0 && st == KURC_OK)
            st = kurc_err_set(err, KURC_E_IO, NULL, "cannot download %s: writing %s failed: %s",
                              url, tmp, strerror(errno));
    }
    char actual[65];
    if (st == KURC_OK && checksum && (st = kurc_package_sha256(tmp, actual, err)) == KURC_OK &&
        strcasecmp(actual, checksum) != 0)
        st = kurc_err_set(err, KURC_E_DATA, checksum_loc,
                          "the download of %s for \"%s\" failed its checksum: expected %s, found %s",
                          url, target, checksum, actual);
    if (st == KURC_OK && rename(tmp, target) != 0)
        st = kurc_err_set(err, KURC_E_IO, NULL, "cannot download %s: cannot rename %s to %s: %s",
                          url, tmp, target, strerror(errno));
    if (st != KURC_OK)
        unlink(tmp);
    else
        kurc_log(KURC_LOG_INFO, "downloaded %s", target);
    free(tmp);
    return st;
}

/* Refuses a file:// URL that names a directory or what is not a regular
 * file (a device such as /dev/zero, a pipe): its download would be empty,
 * or endless. */
static enum kurc_status check_file_url(const char *url, const struct kurc_loc *url_loc,
                                       struct kurc_err *err) {
    if (strncasecmp(url, "file://", 7) != 0)
        return KURC_OK;
    const char *rest = url + 7;
    if (strncasecmp(rest, "localhost/", 10) == 0)
        rest += 9;
    char *path = curl_easy_unescape(NULL, rest, 0, NULL);
    struct stat sb;
    enum kurc_status st = KURC_OK;
    if (path && stat(path, &sb) == 0 && !S_ISREG(sb.st_mode))
        st = kurc_err_set(err, KURC_E_CONFIG, url_loc, "cannot download %s: %s is %s", url, path,
                          S_ISDIR(sb.st_mode) ? "a directory" : "not a regular file");
    curl_free(path);
    return st;
}

/* The url (and optional path) case of kurc_package_fetch. */
static enum kurc_status fetch_url(const char *url, const struct kurc_loc *url_loc,
                                  const char *path, const char *checksum,
                                  const struct kurc_loc *checksum_loc, char **local,
                                  struct kurc_err *err) {
    const char *name = strrchr(url, '/') ? strrchr(url, '/') + 1 : url;
    enum kurc_status st = KURC_OK;
    char *target = path ? kurc_path_expand(path) : kurc_xstrdup(temp_dir());
    struct stat sb;
    char *failed = NULL;
    int e = stat(target, &sb) != 0 ? kurc_path_make_dirs(target, &failed) : 0;
    if (e)
        st = kurc_err_set(err, KURC_E_IO, NULL, "cannot create directory %s: %s", failed,
                          strerror(e));
    free(failed);
    if (st == KURC_OK && stat(target, &sb) == 0 && S_ISDIR(sb.st_mode)) {
        if (!*name) {
            st = kurc_err_set(err, KURC_E_CONFIG, url_loc,
                              "cannot name the file to download: the URL %s ends in '/'", url);
        } else {
            char *joined = kurc_path_join(target, name);
            free(target);
            target = joined;
        }
    }
    if (st == KURC_OK && stat(target, &sb) == 0 && S_ISREG(sb.st_mode)) {
        if (!checksum) {
            kurc_log(KURC_LOG_DEBUG, "%s exists; there is no checksum to check", target);
            *local = target;
            return KURC_OK;
        }
        char actual[65];
        st = kurc_package_sha256(target, actual, err);
        if (st == KURC_OK && strcasecmp(actual, checksum) == 0) {
            kurc_log(KURC_LOG_DEBUG, "%s exists and passed its checksum", target);
            *local = target;
            return KURC_OK;
        }
        if (st == KURC_OK)
            kurc_log(KURC_LOG_WARNING,
                     "%s failed its checksum (expected %s, found %s); downloading it again", target,
                     checksum, actual);
    }
    if (st == KURC_OK && (st = check_file_url(url, url_loc, err)) == KURC_OK)
        st = download(url, target, checksum, checksum_loc, err);
    if (st != KURC_OK) {
        free(target);
        return kurc_err_place(err, url_loc);
    }
    *local = target;
    return KURC_OK;
}

enum kurc_status kurc_package_fetch(const struct kurc_value *spec, char **local,
                                    struct kurc_err *err) {
    const char *url = NULL, *path = NULL, *checksum = NULL;
    const struct kurc_loc *url_loc = &spec->loc, *path_loc = &spec->loc, *sum_loc = &spec->loc;
    enum kurc_status st;
    *local = NULL;
    if (spec->kind == KURC_STR) {
        path = spec->u.str.s;
    } else if (spec->kind == KURC_MAP) {
        if ((st = spec_string(spec, "url", &url, &url_loc, err)) ||
            (st = spec_string(spec, "path", &path, &path_loc, err)) ||
            (st = spec_string(spec, "checksum", &checksum, &sum_loc, err)))
            return st;
    } else {
        return kurc_err_set(err, KURC_E_CONFIG, &spec->loc,
                            "a data file must be a path or a mapping with \"url\", \"checksum\" "
                            "and \"path\", not %s",
                            kurc_kind_phrase(spec->kind));
    }
    if (checksum && !is_sha256_hex(checksum))
        return kurc_err_set(err, KURC_E_CONFIG, sum_loc,
                            "checksum \"%s\" is not a SHA-256 digest (64 hexadecimal digits)",
                            checksum);
    if (url)
        return fetch_url(url, url_loc, path, checksum, sum_loc, local, err);
    if (!path)
        return kurc_err_set(err, KURC_E_CONFIG, &spec->loc,
                            "a data file needs a \"url\" or a \"path\"");

    char *expanded = kurc_path_expand(path);
    struct stat sb;
    if (stat(expanded, &sb) != 0) {
        st = kurc_err_set(err, KURC_E_IO, path_loc,
                          "data file %s does not exist: check the path, or give a \"url\" to "
                          "download it",
                          expanded);
        free(expanded);
        return st;
    }
    if (S_ISREG(sb.st_mode) && checksum) {
        char actual[65];
        if ((st = kurc_package_sha256(expanded, actual, err)) == KURC_OK &&
            strcasecmp(actual, checksum) != 0)
            st = kurc_err_set(err, KURC_E_DATA, sum_loc,
                              "data file %s failed its checksum: expected %s, found %s", expanded,
                              checksum, actual);
        if (st != KURC_OK) {
            free(expanded);
            return kurc_err_place(err, path_loc);
        }
    }
    *local = expanded;
    return KURC_OK;
}
