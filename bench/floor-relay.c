/* The least a userspace TCP relay into a network namespace can do, for
 * bench/netfwd.sh to show the floor of the connection rate: one thread, one
 * epoll, edge-triggered; per connection accept4, socket, connect, recv/send
 * through one buffer, shutdown for a half-close, close; a socket is watched
 * for writability only once a send to it was short. No options, no checks
 * beyond what keeps bytes intact, no splice (a short connection's few bytes
 * are cheaper copied). Not a tool: a yardstick.
 *
 *   floor-relay LISTEN_PORT NETNS_PATH BOX_PORT
 *
 * The listener is made in the caller's namespace; then the relay joins the
 * box's, where every backend socket is made.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

struct conn { int fd[2]; int eof[2]; int shut[2]; char *pend[2]; size_t npend[2]; };
struct side { struct conn *c; int i; };  /* i: 0 client, 1 backend */

static char buf[65536];
static int ep;

static void die(const char *what) { perror(what); exit(1); }

/* Move bytes from side `from` to the other; 0 when the connection broke. */
static int pump(struct conn *c, int from) {
    int to = !from;
    if (c->npend[from]) {  /* what an earlier short send left */
        ssize_t n = send(c->fd[to], c->pend[from], c->npend[from], MSG_NOSIGNAL);
        if (n < 0) return errno == EAGAIN;
        memmove(c->pend[from], c->pend[from] + n, c->npend[from] - (size_t)n);
        c->npend[from] -= (size_t)n;
        if (c->npend[from]) return 1;
    }
    while (!c->eof[from]) {
        ssize_t n = recv(c->fd[from], buf, sizeof buf, 0);
        if (n == 0) { c->eof[from] = 1; break; }
        if (n < 0) return errno == EAGAIN;
        ssize_t s = send(c->fd[to], buf, (size_t)n, MSG_NOSIGNAL);
        if (s < 0 && errno != EAGAIN) return 0;
        if (s < 0) s = 0;
        if (s < n) {
            c->pend[from] = realloc(c->pend[from], (size_t)(n - s));
            memcpy(c->pend[from], buf + s, (size_t)(n - s));
            c->npend[from] = (size_t)(n - s);
            /* only now watch for writability: the writable edge brings us back */
            struct epoll_event ce = { .events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET,
                                      .data.ptr = (struct side *)(c + 1) + to };
            epoll_ctl(ep, EPOLL_CTL_MOD, c->fd[to], &ce);
            return 1;
        }
    }
    if (c->eof[from] && !c->npend[from] && !c->shut[from]) {
        c->shut[from] = 1;
        if (!c->shut[to]) shutdown(c->fd[to], SHUT_WR);  /* else close() sends the FIN */
    }
    return 1;
}

int main(int argc, char **argv) {
    if (argc != 4) { fprintf(stderr, "usage: floor-relay LISTEN_PORT NETNS_PATH BOX_PORT\n"); return 2; }
    struct sockaddr_in la = { .sin_family = AF_INET, .sin_port = htons(atoi(argv[1])) };
    struct sockaddr_in ba = { .sin_family = AF_INET, .sin_port = htons(atoi(argv[3])) };
    la.sin_addr.s_addr = ba.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int one = 1;
    int l = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (l < 0) die("socket");
    setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    setsockopt(l, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (bind(l, (struct sockaddr *)&la, sizeof la) < 0 || listen(l, 4096) < 0) die("bind/listen");
    int ns = open(argv[2], O_RDONLY | O_CLOEXEC);
    if (ns < 0 || setns(ns, CLONE_NEWNET) < 0) die(argv[2]);
    ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };
    epoll_ctl(ep, EPOLL_CTL_ADD, l, &ev);
    struct epoll_event evs[256];
    struct conn *dead[256];
    int ndead = 0;
    for (;;) {
        int k = epoll_wait(ep, evs, 256, -1);
        if (k < 0 && errno != EINTR) die("epoll_wait");
        for (int e = 0; e < k; e++) {
            struct side *s = evs[e].data.ptr;
            if (!s) {
                int fd;
                while ((fd = accept4(l, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
                    int b = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
                    if (b < 0) { close(fd); continue; }
                    setsockopt(b, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                    if (connect(b, (struct sockaddr *)&ba, sizeof ba) < 0 && errno != EINPROGRESS) { close(fd); close(b); continue; }
                    struct conn *c = calloc(1, sizeof *c + 2 * sizeof(struct side));
                    struct side *sd = (struct side *)(c + 1);
                    c->fd[0] = fd; c->fd[1] = b;
                    for (int i = 0; i < 2; i++) {
                        sd[i].c = c; sd[i].i = i;
                        struct epoll_event ce = { .events = EPOLLIN | EPOLLRDHUP | EPOLLET, .data.ptr = &sd[i] };
                        epoll_ctl(ep, EPOLL_CTL_ADD, c->fd[i], &ce);
                    }
                }
                continue;
            }
            struct conn *c = s->c;
            if (c->fd[0] < 0) continue;  /* finished earlier in this batch */
            int ok = !(evs[e].events & EPOLLERR);
            if (ok) ok = pump(c, s->i) && pump(c, !s->i);
            if (!ok || (c->shut[0] && c->shut[1])) {
                /* later events of this batch may point at it: free it after */
                close(c->fd[0]); close(c->fd[1]);
                c->fd[0] = c->fd[1] = -1;
                dead[ndead++] = c;
            }
        }
        while (ndead) {
            struct conn *c = dead[--ndead];
            free(c->pend[0]); free(c->pend[1]); free(c);
        }
    }
}
