/*
 * sum_server PORT: adds numbers. Each request is two unsigned 32-bit
 * integers in network byte order (8 bytes); the reply is their sum modulo
 * 2^32 in network byte order (4 bytes). A connection carries any number of
 * requests; each client has a thread of its own.
 *
 * The Makefile also builds it with one classic bug each (-DBUG_...).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* recv_all receives exactly n bytes: one recv() may return fewer. It
 * returns 0, or -1 at end of stream or on an error. */
static int recv_all(int c, void *p, size_t n)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = recv(c, (char *)p + got, n - got, 0);
        if (r <= 0)
            return -1;
        got += (size_t)r;
#ifdef BUG_ONERECV
        break; /* one recv() taken for a whole request */
#endif
    }
    return 0;
}

static void *serve(void *arg)
{
    int c = (int)(long)arg;
#ifdef BUG_WIDE
    uint64_t req[2]; /* 8 bytes a number, where the protocol has 4 */
#else
    uint32_t req[2];
#endif
    while (recv_all(c, req, sizeof req) == 0) {
        uint32_t a = (uint32_t)req[0], b = (uint32_t)req[1];
#ifndef BUG_BYTEORDER
        a = ntohl(a); /* from network byte order to this machine's */
        b = ntohl(b);
#endif
#ifdef BUG_OVERFLOW
        uint64_t wide = (uint64_t)a + b;
        uint32_t sum = wide > UINT32_MAX ? UINT32_MAX : (uint32_t)wide;
#else
        uint32_t sum = a + b; /* unsigned: wraps around modulo 2^32 */
#endif
#ifndef BUG_BYTEORDER
        sum = htonl(sum);
#endif
        if (send(c, &sum, sizeof sum, 0) != (ssize_t)sizeof sum)
            break;
#ifdef BUG_ONEREQ
        break; /* one request per connection */
#endif
    }
    close(c);
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s PORT\n", argv[0]);
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    int s = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((unsigned short)atoi(argv[1]));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(s, (struct sockaddr *)&a, sizeof a) < 0 || listen(s, 16) < 0) {
        perror("bind");
        return 1;
    }
    for (;;) {
        int c = accept(s, NULL, NULL);
        if (c < 0)
            continue;
#ifdef BUG_SERIAL
        serve((void *)(long)c); /* the next client waits */
#else
        pthread_t t;
        if (pthread_create(&t, NULL, serve, (void *)(long)c) != 0) {
            close(c);
            continue;
        }
        pthread_detach(t);
#endif
    }
}
