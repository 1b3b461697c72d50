/*
 * loadgen: a small HTTP/1.1 keep-alive load generator for the tus benchmark.
 *
 * It sends one pre-encoded request (read from a file: request line, headers and body) over
 * N keep-alive connections, one request in flight per connection, until a request count or
 * a duration is reached, and prints one JSON line with the results. It is compiled by
 * bench/client.py into bench/.cache/ with the system C compiler; when no compiler is present
 * the benchmark falls back to the Python client in bench/client.py (same CLI, same JSON).
 *
 * usage: loadgen HOST PORT CONNS REQUESTS DURATION_S HEAD(0|1) REQUEST_FILE [REQUEST_FILE...]
 *   REQUESTS > 0: stop after that many responses; else run for DURATION_S seconds.
 *   HEAD=1: responses carry no body whatever their headers say.
 *   Connection i sends REQUEST_FILE number i % (number of files), e.g. one upload each.
 *
 * Responses are parsed just enough: status line, Content-Length, Transfer-Encoding: chunked,
 * Connection: close. A closed connection is reopened; a request lost with it counts as error.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define RBUF 65536
#define MAX_CONNS 1024
#define MAX_ERRORS 1000

enum { ST_HEAD, ST_BODY_LEN, ST_CH_SIZE, ST_CH_DATA, ST_CH_CRLF, ST_CH_TRAILER };

typedef struct {
    int fd;
    const char *req;
    size_t req_len;
    size_t sent;          /* bytes of the request written */
    int busy;             /* a request is in flight */
    int state;
    long long remaining;  /* body bytes (or chunk bytes) left to skip */
    int close_after;
    int status;
    char rbuf[RBUF];
    size_t rlen;
} conn_t;

static int head_mode;
static struct sockaddr_in addr;
static int ep;
static long long issued, completed, errors, non2xx, target_requests;
static long long status_count[6];
static long long interim;
static double deadline;

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int open_conn(conn_t *c) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return -1;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(fd, (struct sockaddr *)&addr, sizeof addr) < 0) {
        close(fd);
        return -1;
    }
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    c->fd = fd;
    c->rlen = 0;
    c->busy = 0;
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
    return 0;
}

static void set_events(conn_t *c, unsigned events) {
    struct epoll_event ev = {.events = events, .data.ptr = c};
    epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
}

static int may_issue(void) {
    if (target_requests > 0) return issued < target_requests;
    return now() < deadline;
}

static void start_request(conn_t *c) {
    c->busy = 1;
    c->sent = 0;
    c->state = ST_HEAD;
    c->close_after = 0;
    issued++;
    set_events(c, EPOLLIN | EPOLLOUT);
}

static void drop_conn(conn_t *c, int lost) {
    if (lost && c->busy) errors++;
    epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    c->fd = -1;
    c->busy = 0;
    if (errors > MAX_ERRORS) return;
    if (open_conn(c) < 0) {
        errors++;
        return;
    }
    if (may_issue()) start_request(c);
}

static void finish_response(conn_t *c) {
    completed++;
    if (c->status < 200 || c->status >= 300) non2xx++;
    int cls = c->status / 100;
    if (cls >= 1 && cls <= 5) status_count[cls]++;
    c->busy = 0;
    if (c->close_after) {
        drop_conn(c, 0);
        return;
    }
    if (may_issue()) start_request(c);
    else set_events(c, EPOLLIN);
}

/* Parse what is in rbuf; returns when more bytes are needed or the response completed. */
static void parse(conn_t *c) {
    for (;;) {
        if (!c->busy) { c->rlen = 0; return; }
        if (c->state == ST_HEAD) {
            char *end = memmem(c->rbuf, c->rlen, "\r\n\r\n", 4);
            if (!end) {
                if (c->rlen == RBUF) { drop_conn(c, 1); }
                return;
            }
            size_t hlen = (size_t)(end - c->rbuf) + 4;
            c->status = 0;
            if (c->rlen > 12) c->status = atoi(c->rbuf + 9);
            long long clen = -1;
            int chunked = 0;
            char *line = memmem(c->rbuf, hlen, "\r\n", 2) + 2;
            while (line < end) {
                char *eol = memmem(line, (size_t)(end + 2 - line), "\r\n", 2);
                if (!eol) break;
                if (strncasecmp(line, "content-length:", 15) == 0) clen = atoll(line + 15);
                else if (strncasecmp(line, "transfer-encoding:", 18) == 0 &&
                         memmem(line, (size_t)(eol - line), "chunked", 7)) chunked = 1;
                else if (strncasecmp(line, "connection:", 11) == 0 &&
                         memmem(line, (size_t)(eol - line), "close", 5)) c->close_after = 1;
                line = eol + 2;
            }
            memmove(c->rbuf, c->rbuf + hlen, c->rlen - hlen);
            c->rlen -= hlen;
            if (c->status >= 100 && c->status < 200 && c->status != 101) {
                interim++;  /* an interim response (100 Continue, 104): the final one follows */
                continue;
            }
            int nobody = head_mode || c->status == 204 || c->status == 304 || c->status < 200;
            if (nobody || (!chunked && clen <= 0)) { finish_response(c); continue; }
            if (chunked) c->state = ST_CH_SIZE;
            else { c->state = ST_BODY_LEN; c->remaining = clen; }
        } else if (c->state == ST_BODY_LEN || c->state == ST_CH_DATA) {
            size_t take = c->rlen < (size_t)c->remaining ? c->rlen : (size_t)c->remaining;
            memmove(c->rbuf, c->rbuf + take, c->rlen - take);
            c->rlen -= take;
            c->remaining -= (long long)take;
            if (c->remaining > 0) return;
            if (c->state == ST_BODY_LEN) { finish_response(c); continue; }
            c->state = ST_CH_CRLF;
        } else if (c->state == ST_CH_CRLF) {
            if (c->rlen < 2) return;
            memmove(c->rbuf, c->rbuf + 2, c->rlen - 2);
            c->rlen -= 2;
            c->state = ST_CH_SIZE;
        } else if (c->state == ST_CH_SIZE || c->state == ST_CH_TRAILER) {
            char *eol = memmem(c->rbuf, c->rlen, "\r\n", 2);
            if (!eol) return;
            size_t llen = (size_t)(eol - c->rbuf) + 2;
            int empty = llen == 2;
            long long size = c->state == ST_CH_SIZE ? strtoll(c->rbuf, NULL, 16) : 0;
            memmove(c->rbuf, c->rbuf + llen, c->rlen - llen);
            c->rlen -= llen;
            if (c->state == ST_CH_TRAILER) {
                if (empty) { finish_response(c); }
                continue;
            }
            if (size == 0) c->state = ST_CH_TRAILER;
            else { c->state = ST_CH_DATA; c->remaining = size; }
        }
    }
}

static void on_writable(conn_t *c) {
    while (c->sent < c->req_len) {
        ssize_t n = send(c->fd, c->req + c->sent, c->req_len - c->sent, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EAGAIN) return;
            drop_conn(c, 1);
            return;
        }
        c->sent += (size_t)n;
    }
    set_events(c, EPOLLIN);
}

static void on_readable(conn_t *c) {
    for (;;) {
        if (c->rlen == RBUF) { parse(c); if (c->fd < 0 || c->rlen == RBUF) return; }
        ssize_t n = recv(c->fd, c->rbuf + c->rlen, RBUF - c->rlen, 0);
        if (n == 0 || (n < 0 && errno != EAGAIN)) { drop_conn(c, 1); return; }
        if (n < 0) return;
        c->rlen += (size_t)n;
        int fd = c->fd;
        parse(c);
        if (c->fd != fd) return;
    }
}

int main(int argc, char **argv) {
    if (argc < 8) {
        fprintf(stderr,
                "usage: loadgen HOST PORT CONNS REQUESTS DURATION_S HEAD FILE [FILE...]\n");
        return 2;
    }
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_port = htons((unsigned short)atoi(argv[2]));
    if (inet_pton(AF_INET, argv[1], &addr.sin_addr) != 1) { fprintf(stderr, "bad host\n"); return 2; }
    int nconns = atoi(argv[3]);
    if (nconns < 1 || nconns > MAX_CONNS) { fprintf(stderr, "bad conns\n"); return 2; }
    target_requests = atoll(argv[4]);
    double duration = atof(argv[5]);
    head_mode = atoi(argv[6]);
    int nfiles = argc - 7;
    char **reqs = calloc((size_t)nfiles, sizeof(char *));
    size_t *lens = calloc((size_t)nfiles, sizeof(size_t));
    for (int i = 0; i < nfiles; i++) {
        FILE *f = fopen(argv[7 + i], "rb");
        if (!f) { perror("request file"); return 2; }
        struct stat st;
        fstat(fileno(f), &st);
        lens[i] = (size_t)st.st_size;
        reqs[i] = malloc(lens[i] ? lens[i] : 1);
        if (fread(reqs[i], 1, lens[i], f) != lens[i]) { perror("read"); return 2; }
        fclose(f);
    }

    ep = epoll_create1(0);
    conn_t *conns = calloc((size_t)nconns, sizeof(conn_t));
    for (int i = 0; i < nconns; i++) {
        conns[i].req = reqs[i % nfiles];
        conns[i].req_len = lens[i % nfiles];
    }
    double t0 = now();
    deadline = t0 + duration;
    for (int i = 0; i < nconns; i++) {
        if (open_conn(&conns[i]) < 0) { perror("connect"); return 1; }
    }
    for (int i = 0; i < nconns; i++) if (may_issue()) start_request(&conns[i]);

    struct epoll_event events[256];
    double last = t0;
    /* Bounded: stop when nothing is in flight, or on too many errors, or 10 min past plan. */
    double hard_stop = t0 + (target_requests > 0 ? 600.0 : duration + 60.0);
    for (;;) {
        int inflight = 0;
        for (int i = 0; i < nconns; i++) inflight += conns[i].busy;
        if (!inflight || errors > MAX_ERRORS || now() > hard_stop) break;
        int n = epoll_wait(ep, events, 256, 100);
        for (int i = 0; i < n; i++) {
            conn_t *c = events[i].data.ptr;
            if (c->fd < 0) continue;
            if (events[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) on_readable(c);
            if (c->fd >= 0 && c->busy && c->sent < c->req_len && (events[i].events & EPOLLOUT))
                on_writable(c);
        }
        if (n > 0) last = now();
    }
    double elapsed = last - t0;
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    double cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
                 (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
    printf("{\"completed\": %lld, \"errors\": %lld, \"non2xx\": %lld, \"elapsed\": %.6f, "
           "\"client_cpu\": %.6f, \"interim\": %lld, \"status\": {\"1xx\": %lld, \"2xx\": %lld, \"3xx\": %lld, "
           "\"4xx\": %lld, \"5xx\": %lld}}\n",
           completed, errors, non2xx, elapsed, cpu, interim, status_count[1], status_count[2],
           status_count[3], status_count[4], status_count[5]);
    return 0;
}
