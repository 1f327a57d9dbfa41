/* test_package.c - Kur's standard packaging (package.h): local paths and
 * checksums, file:// downloads into directories (new, existing, stale),
 * the temporary directory, ~ expansion, and http:// from a local
 * python3 -m http.server on 127.0.0.1 when one can be started. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
/* (cmocka.h needs the four headers above before it.) */
#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "config/value/value.h"
#include "data/package.h"
#include "iotest.h"

#define HELLO_SHA "3e70290b834260b83cf535e29a389979215b1071f638bb36de9eb9c7f90f7e0b"
#define OTHER_SHA "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

static struct iot_dir scratch; /* the test's files */
static pid_t server_pid;       /* the test's http.server, 0 when none runs */
static int server_port;

static char *path_in(const char *name) {
    return iot_in(&scratch, name);
}

static void write_text(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void expect_text(const char *path, const char *text) {
    char buf[256] = "";
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    assert_string_equal(buf, text);
}

/* {url, checksum, path}, leaving out the NULL ones. */
static struct kurc_value *spec(const char *url, const char *checksum, const char *path) {
    struct kurc_value *m = kurc_value_map(NULL);
    if (url)
        kurc_map_set(m, "url", NULL, kurc_value_str(url, NULL));
    if (checksum)
        kurc_map_set(m, "checksum", NULL, kurc_value_str(checksum, NULL));
    if (path)
        kurc_map_set(m, "path", NULL, kurc_value_str(path, NULL));
    return m;
}

/* Fetches spec (freed) and returns the local path (caller frees), failing
 * the test on error. */
static char *fetch_ok(struct kurc_value *s) {
    char *local = NULL;
    struct kurc_err err;
    enum kurc_status st = kurc_package_fetch(s, &local, &err);
    if (st != KURC_OK)
        fprintf(stderr, "unexpected error: %s\n", err.msg);
    assert_int_equal(st, KURC_OK);
    kurc_value_free(s);
    return local;
}

/* Fetches spec (freed), expecting status and a message; returns nothing. */
static void fetch_fails(struct kurc_value *s, enum kurc_status status, const char *msg,
                        bool exact) {
    char *local = NULL;
    struct kurc_err err;
    enum kurc_status st = kurc_package_fetch(s, &local, &err);
    kurc_value_free(s);
    assert_null(local);
    if (st != status || (exact ? strcmp(err.msg, msg) != 0 : !strstr(err.msg, msg)))
        fprintf(stderr, "status %d, message: %s\nexpected: %s\n", st, err.msg, msg);
    assert_int_equal(st, status);
    if (exact)
        assert_string_equal(err.msg, msg);
    else
        assert_non_null(strstr(err.msg, msg));
}

/* Number of entries in a directory other than . and .. */
static int entries(const char *path) {
    DIR *d = opendir(path);
    assert_non_null(d);
    int n = 0;
    for (struct dirent *e; (e = readdir(d));)
        n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    closedir(d);
    return n;
}

static int setup(void **state) {
    (void)state;
    iot_dir_make(&scratch);
    mkdir(path_in("src"), 0755);
    write_text(path_in("src/hello.txt"), "hello kurc\n");
    write_text(path_in("src/empty.txt"), "");
    return 0;
}

static void stop_server(void) {
    if (server_pid > 0) {
        kill(server_pid, SIGTERM);
        waitpid(server_pid, NULL, 0);
    }
    server_pid = 0;
}

static int teardown(void **state) {
    (void)state;
    stop_server();
    iot_dir_remove(&scratch);
    return 0;
}

static void test_sha256(void **state) {
    (void)state;
    char hex[65];
    struct kurc_err err;
    assert_int_equal(kurc_package_sha256(path_in("src/hello.txt"), hex, &err), KURC_OK);
    assert_string_equal(hex, HELLO_SHA);
    assert_int_equal(kurc_package_sha256(path_in("src/empty.txt"), hex, &err), KURC_OK);
    assert_string_equal(hex, OTHER_SHA);
    write_text(path_in("abc"), "abc");
    assert_int_equal(kurc_package_sha256(path_in("abc"), hex, &err), KURC_OK);
    assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    assert_int_equal(kurc_package_sha256(path_in("nope"), hex, &err), KURC_E_IO);
    char msg[600];
    snprintf(msg, sizeof msg, "cannot read %s: No such file or directory", path_in("nope"));
    assert_string_equal(err.msg, msg);
}

static void test_path_only(void **state) {
    (void)state;
    char *p = fetch_ok(kurc_value_str(path_in("src/hello.txt"), NULL));
    assert_string_equal(p, path_in("src/hello.txt"));
    free(p);
    /* The right checksum in upper case passes (compared case-insensitively). */
    char upper[65];
    for (int i = 0; i < 65; i++)
        upper[i] = (char)(HELLO_SHA[i] >= 'a' ? HELLO_SHA[i] - 32 : HELLO_SHA[i]);
    p = fetch_ok(spec(NULL, upper, path_in("src/hello.txt")));
    assert_string_equal(p, path_in("src/hello.txt"));
    free(p);
    /* A directory is returned as it is (Kur's unpacked sources). */
    p = fetch_ok(spec(NULL, NULL, path_in("src")));
    assert_string_equal(p, path_in("src"));
    free(p);
}

static void test_path_errors(void **state) {
    (void)state;
    char msg[1024];
    snprintf(msg, sizeof msg, "data file %s failed its checksum: expected %s, found %s",
             path_in("src/hello.txt"), OTHER_SHA, HELLO_SHA);
    fetch_fails(spec(NULL, OTHER_SHA, path_in("src/hello.txt")), KURC_E_DATA, msg, true);
    snprintf(msg, sizeof msg,
             "data file %s does not exist: check the path, or give a \"url\" to download it",
             path_in("src/missing.gz"));
    fetch_fails(spec(NULL, NULL, path_in("src/missing.gz")), KURC_E_IO, msg, true);
    fetch_fails(kurc_value_str(path_in("src/missing.gz"), NULL), KURC_E_IO, msg, true);
    fetch_fails(spec(NULL, "abc123", path_in("src/hello.txt")), KURC_E_CONFIG,
                "checksum \"abc123\" is not a SHA-256 digest (64 hexadecimal digits)", true);
    fetch_fails(spec(NULL, HELLO_SHA, NULL), KURC_E_CONFIG,
                "a data file needs a \"url\" or a \"path\"", true);
    fetch_fails(kurc_value_int(3, NULL), KURC_E_CONFIG,
                "a data file must be a path or a mapping with \"url\", \"checksum\" and "
                "\"path\", not an integer",
                true);
    struct kurc_value *bad = spec(NULL, NULL, NULL);
    kurc_map_set(bad, "path", NULL, kurc_value_int(1, NULL));
    fetch_fails(bad, KURC_E_CONFIG, "\"path\" must be a string, not an integer", true);
}

static void test_url_into_new_directory(void **state) {
    (void)state;
    char url[600];
    snprintf(url, sizeof url, "file://%s", path_in("src/hello.txt"));
    /* The directory (two levels) is created; the file keeps the URL's name. */
    char *p = fetch_ok(spec(url, HELLO_SHA, path_in("new/deeper")));
    assert_string_equal(p, path_in("new/deeper/hello.txt"));
    expect_text(p, "hello kurc\n");
    assert_int_equal(entries(path_in("new/deeper")), 1); /* no temporary left */
    free(p);
    /* Without a checksum too. */
    p = fetch_ok(spec(url, NULL, path_in("new2")));
    assert_string_equal(p, path_in("new2/hello.txt"));
    expect_text(p, "hello kurc\n");
    free(p);
}

static void test_url_existing_file(void **state) {
    (void)state;
    mkdir(path_in("have"), 0755);
    /* A file that is there and has no checksum to fail is used as it is,
     * even though the URL would give something else. */
    write_text(path_in("have/hello.txt"), "stale\n");
    char url[600];
    snprintf(url, sizeof url, "file://%s", path_in("src/hello.txt"));
    char *p = fetch_ok(spec(url, NULL, path_in("have")));
    expect_text(p, "stale\n");
    free(p);
    /* With a passing checksum there is no download: the URL need not work. */
    write_text(path_in("have/hello.txt"), "hello kurc\n");
    char dead[600];
    snprintf(dead, sizeof dead, "file://%s", path_in("nowhere/hello.txt"));
    p = fetch_ok(spec(dead, HELLO_SHA, path_in("have")));
    assert_string_equal(p, path_in("have/hello.txt"));
    free(p);
    /* path naming an existing file is the target itself, not a directory. */
    p = fetch_ok(spec(dead, HELLO_SHA, path_in("have/hello.txt")));
    assert_string_equal(p, path_in("have/hello.txt"));
    free(p);
}

static void test_redownload_on_mismatch(void **state) {
    (void)state;
    mkdir(path_in("stale"), 0755);
    write_text(path_in("stale/hello.txt"), "corrupt\n");
    char url[600];
    snprintf(url, sizeof url, "file://%s", path_in("src/hello.txt"));
    char *p = fetch_ok(spec(url, HELLO_SHA, path_in("stale")));
    expect_text(p, "hello kurc\n");
    assert_int_equal(entries(path_in("stale")), 1);
    free(p);
}

static void test_download_fails_checksum(void **state) {
    (void)state;
    char url[600], msg[1400];
    snprintf(url, sizeof url, "file://%s", path_in("src/hello.txt"));
    snprintf(msg, sizeof msg,
             "the download of %s for \"%s\" failed its checksum: expected %s, found %s", url,
             path_in("bad/hello.txt"), OTHER_SHA, HELLO_SHA);
    fetch_fails(spec(url, OTHER_SHA, path_in("bad")), KURC_E_DATA, msg, true);
    /* Neither the target nor a temporary file is left behind. */
    assert_int_equal(entries(path_in("bad")), 0);
}

static void test_download_errors(void **state) {
    (void)state;
    char url[600], msg[1400];
    snprintf(url, sizeof url, "file://%s", path_in("src/absent.txt"));
    snprintf(msg, sizeof msg, "cannot download %s: ", url);
    fetch_fails(spec(url, NULL, path_in("dl")), KURC_E_IO, msg, false);
    assert_int_equal(entries(path_in("dl")), 0);
    fetch_fails(spec("ftp://example.invalid/x.gz", NULL, path_in("dl")), KURC_E_IO,
                "cannot download ftp://example.invalid/x.gz: ", false);
    snprintf(url, sizeof url, "file://%s/", path_in("src"));
    fetch_fails(spec(url, NULL, path_in("dl")), KURC_E_CONFIG, "ends in '/'", false);
}

static void test_url_only_uses_tmpdir(void **state) {
    (void)state;
    mkdir(path_in("tmp"), 0755);
    char *old = getenv("TMPDIR") ? strdup(getenv("TMPDIR")) : NULL;
    setenv("TMPDIR", path_in("tmp"), 1);
    char url[600];
    snprintf(url, sizeof url, "file://%s", path_in("src/hello.txt"));
    char *p = fetch_ok(spec(url, HELLO_SHA, NULL));
    assert_string_equal(p, path_in("tmp/hello.txt"));
    expect_text(p, "hello kurc\n");
    free(p);
    if (old)
        setenv("TMPDIR", old, 1);
    else
        unsetenv("TMPDIR");
    free(old);
}

static void test_home_expansion(void **state) {
    (void)state;
    char *old = strdup(getenv("HOME") ? getenv("HOME") : "/");
    setenv("HOME", scratch.path, 1);
    char *p = fetch_ok(spec(NULL, HELLO_SHA, "~/src/hello.txt"));
    assert_string_equal(p, path_in("src/hello.txt"));
    free(p);
    p = fetch_ok(kurc_value_str("~/src/hello.txt", NULL));
    assert_string_equal(p, path_in("src/hello.txt"));
    free(p);
    char url[600];
    snprintf(url, sizeof url, "file://%s", path_in("src/hello.txt"));
    setenv("KURC_TEST_SUBDIR", "cache", 1);
    p = fetch_ok(spec(url, NULL, "~/kur/$KURC_TEST_SUBDIR"));
    assert_string_equal(p, path_in("kur/cache/hello.txt"));
    expect_text(p, "hello kurc\n");
    free(p);
    setenv("HOME", old, 1);
    free(old);
}

/* A python3 http.server serving dir/src on 127.0.0.1 (port chosen by the
 * OS, read from its first line of output); see start_server. */

static bool start_server(void) {
    if (access("/usr/bin/python3", X_OK) != 0)
        return false;
    int fds[2];
    if (pipe(fds) != 0)
        return false;
    server_pid = fork();
    if (server_pid == 0) {
        dup2(fds[1], STDOUT_FILENO);
        int null = open("/dev/null", O_WRONLY);
        if (null >= 0)
            dup2(null, STDERR_FILENO);
        close(fds[0]);
        execl("/usr/bin/python3", "python3", "-u", "-m", "http.server", "0", "--bind", "127.0.0.1",
              "--directory", path_in("src"), (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    char line[256] = "";
    size_t n = 0;
    struct pollfd pfd = {.fd = fds[0], .events = POLLIN};
    while (n < sizeof line - 1 && !strchr(line, '\n') && poll(&pfd, 1, 10000) > 0) {
        ssize_t got = read(fds[0], line + n, sizeof line - 1 - n);
        if (got <= 0)
            break;
        n += (size_t)got;
        line[n] = '\0';
    }
    close(fds[0]);
    const char *port = strstr(line, " port ");
    if (server_pid > 0 && port && sscanf(port, " port %d", &server_port) == 1)
        return true;
    stop_server();
    return false;
}

static void test_http(void **state) {
    (void)state;
    if (!start_server()) {
        fprintf(stderr, "no python3 http.server on 127.0.0.1: skipping the http test\n");
        skip();
    }
    char url[600], msg[1400];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/hello.txt", server_port);
    char *p = fetch_ok(spec(url, HELLO_SHA, path_in("http")));
    assert_string_equal(p, path_in("http/hello.txt"));
    expect_text(p, "hello kurc\n");
    free(p);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/absent.gz", server_port);
    snprintf(msg, sizeof msg, "cannot download %s: HTTP status 404", url);
    fetch_fails(spec(url, NULL, path_in("http")), KURC_E_IO, msg, true);
    assert_int_equal(entries(path_in("http")), 1);
    stop_server();
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sha256),
        cmocka_unit_test(test_path_only),
        cmocka_unit_test(test_path_errors),
        cmocka_unit_test(test_url_into_new_directory),
        cmocka_unit_test(test_url_existing_file),
        cmocka_unit_test(test_redownload_on_mismatch),
        cmocka_unit_test(test_download_fails_checksum),
        cmocka_unit_test(test_download_errors),
        cmocka_unit_test(test_url_only_uses_tmpdir),
        cmocka_unit_test(test_home_expansion),
        cmocka_unit_test(test_http),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
