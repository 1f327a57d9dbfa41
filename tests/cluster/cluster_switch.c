/* cluster_switch.c - the user-space switch of the simulated cluster's
 * delay and loss benchmark (tests/cluster/bench_network.sh), standing in
 * for netem, which this kernel lacks.
 *
 *   cluster_switch [-d DELAY_MS] [-l LOSS_PERCENT] [-s SEED] NETNS...
 *
 * Each NETNS (a name under /run/netns) holds a TAP device eth0 (created by
 * cluster.sh, persistent, MTU 9000: fewer frames for the switch to copy);
 * the switch attaches to each, learns which port
 * each source MAC address is behind, and forwards every frame to the port
 * of its destination (all other ports for broadcasts and unknown
 * addresses).  Every frame that leaves a port waits DELAY_MS (one way,
 * fractions allowed) in that port's queue, and is dropped with probability
 * LOSS_PERCENT / 100 before it is queued (so each direction of a link
 * loses that share).  A full queue drops the frame too.  It runs until
 * SIGINT or SIGTERM and then prints its counts on stderr.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

enum { MAX_PORTS = 8, QUEUE = 4096, FRAME = 9216, MACS = 64 }; /* FRAME: MTU 9000 and more */

struct frame {
    int64_t due; /* CLOCK_MONOTONIC ns at which it leaves */
    int len;
    unsigned char data[FRAME];
};

struct port {
    int fd;
    struct frame *q; /* ring of QUEUE frames */
    int head, count;
};

static struct port ports[MAX_PORTS];
static int nports;
static struct {
    unsigned char mac[6];
    int port;
} macs[MACS];
static int nmacs;
static long long forwarded, lost, overflowed;
static volatile sig_atomic_t stop;

static void on_signal(int sig) {
    (void)sig;
    stop = 1;
}

static int64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* A uniform double in [0, 1) from xorshift64*. */
static double uniform(uint64_t *s) {
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return (double)((*s * 0x2545F4914F6CDD1DULL) >> 11) / 9007199254740992.0;
}

/* Opens the TAP device eth0 of network namespace NAME: enters the
 * namespace, attaches, and comes back (the descriptor stays bound to the
 * device there).  Returns the descriptor, nonblocking, or -1. */
static int attach(const char *name, int home) {
    char path[256];
    snprintf(path, sizeof path, "/run/netns/%s", name);
    int ns = open(path, O_RDONLY | O_CLOEXEC), fd = -1;
    if (ns < 0 || setns(ns, CLONE_NEWNET) != 0) {
        fprintf(stderr, "cluster_switch: %s: %s\n", path, strerror(errno));
        if (ns >= 0)
            close(ns);
        return -1;
    }
    struct ifreq ifr = {.ifr_flags = IFF_TAP | IFF_NO_PI};
    strcpy(ifr.ifr_name, "eth0");
    fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0 || ioctl(fd, TUNSETIFF, &ifr) != 0) {
        fprintf(stderr, "cluster_switch: eth0 of %s: %s\n", name, strerror(errno));
        if (fd >= 0)
            close(fd);
        fd = -1;
    }
    close(ns);
    if (setns(home, CLONE_NEWNET) != 0) {
        fprintf(stderr, "cluster_switch: back to its own namespace: %s\n", strerror(errno));
        exit(1);
    }
    return fd;
}

/* The port behind MAC, or -1; with LEARN, records that it is behind PORT. */
static int mac_port(const unsigned char *mac, int port, int learn) {
    for (int i = 0; i < nmacs; i++)
        if (memcmp(macs[i].mac, mac, 6) == 0) {
            if (learn)
                macs[i].port = port;
            return macs[i].port;
        }
    if (learn && nmacs < MACS) {
        memcpy(macs[nmacs].mac, mac, 6);
        macs[nmacs++].port = port;
    }
    return -1;
}

/* Queues a copy of the frame on port OUT, unless it is lost or the queue
 * is full. */
static void enqueue(int out, const unsigned char *data, int len, int64_t due, double loss,
                    uint64_t *rng) {
    struct port *p = &ports[out];
    if (loss > 0 && uniform(rng) < loss) {
        lost++;
        return;
    }
    if (p->count == QUEUE) {
        overflowed++;
        return;
    }
    struct frame *f = &p->q[(p->head + p->count++) % QUEUE];
    f->due = due;
    f->len = len;
    memcpy(f->data, data, (size_t)len);
}

/* Reads what port IN has (at most a burst, to stay fair) and queues it. */
static void receive(int in, int64_t delay, double loss, uint64_t *rng) {
    unsigned char buf[65536];
    for (int burst = 0; burst < 64; burst++) {
        ssize_t len = read(ports[in].fd, buf, sizeof buf);
        if (len < 0)
            return; /* EAGAIN: nothing left */
        if (len < 14 || len > FRAME)
            continue; /* a runt or a frame over the MTU */
        int64_t due = now_ns() + delay;
        mac_port(buf + 6, in, 1);
        int out = buf[0] & 1 ? -1 : mac_port(buf, in, 0);
        for (int p = 0; p < nports; p++)
            if (p != in && (out < 0 || out == p))
                enqueue(p, buf, (int)len, due, loss, rng);
    }
}

/* Sends every queued frame that is due; returns the ns until the next one
 * is (-1: none queued). */
static int64_t transmit(void) {
    int64_t t = now_ns(), next = -1;
    for (int i = 0; i < nports; i++) {
        struct port *p = &ports[i];
        while (p->count > 0 && p->q[p->head].due <= t) {
            if (write(p->fd, p->q[p->head].data, (size_t)p->q[p->head].len) > 0)
                forwarded++;
            p->head = (p->head + 1) % QUEUE;
            p->count--;
        }
        if (p->count > 0 && (next < 0 || p->q[p->head].due - t < next))
            next = p->q[p->head].due - t;
    }
    return next;
}

int main(int argc, char **argv) {
    double delay_ms = 0, loss = 0;
    uint64_t rng = 0x9E3779B97F4A7C15ULL;
    int opt, bad = 0;
    while ((opt = getopt(argc, argv, "d:l:s:")) != -1) {
        if (opt == 'd')
            delay_ms = atof(optarg);
        else if (opt == 'l')
            loss = atof(optarg) / 100.0;
        else if (opt == 's')
            rng ^= strtoull(optarg, NULL, 0) * 0xBF58476D1CE4E5B9ULL;
        else
            bad = 1;
    }
    if (bad || argc - optind < 2 || argc - optind > MAX_PORTS || delay_ms < 0 ||
        loss < 0 || loss > 1) {
        fprintf(stderr, "usage: cluster_switch [-d DELAY_MS] [-l LOSS_PERCENT] [-s SEED] "
                        "NETNS... (2 to %d)\n",
                MAX_PORTS);
        return 2;
    }
    int home = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
    if (home < 0) {
        perror("cluster_switch: /proc/self/ns/net");
        return 1;
    }
    struct pollfd pfd[MAX_PORTS];
    for (; optind < argc; nports++, optind++) {
        ports[nports].fd = attach(argv[optind], home);
        ports[nports].q = malloc(sizeof(struct frame) * QUEUE);
        if (ports[nports].fd < 0 || !ports[nports].q)
            return 1;
        pfd[nports] = (struct pollfd){.fd = ports[nports].fd, .events = POLLIN};
    }
    /* The signals are blocked except inside ppoll, so none is missed. */
    struct sigaction sa = {.sa_handler = on_signal};
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigset_t block, open_mask;
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGTERM);
    sigprocmask(SIG_BLOCK, &block, &open_mask);
    int64_t delay = (int64_t)(delay_ms * 1e6);
    while (!stop) {
        int64_t wait = transmit();
        struct timespec ts = {(time_t)(wait / 1000000000), (long)(wait % 1000000000)};
        if (ppoll(pfd, (nfds_t)nports, wait < 0 ? NULL : &ts, &open_mask) < 0 && errno != EINTR)
            break;
        for (int i = 0; i < nports; i++)
            if (pfd[i].revents & POLLIN)
                receive(i, delay, loss, &rng);
    }
    fprintf(stderr, "cluster_switch: %lld frames forwarded, %lld lost, %lld dropped (queue full)\n",
            forwarded, lost, overflowed);
    return 0;
}
