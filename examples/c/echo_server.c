/*
 * echo_server PORT: the case study's TCP echo server, fixed. It serves
 * each client in a thread of its own and sends back every byte it
 * receives, in order, until the client closes; then it closes too.
 *
 * The Makefile also builds it with one classic bug each (-DBUG_...);
 * README.md says which binary has which. -DFORK serves each client in a
 * process of its own instead of a thread: a correct variant.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#ifdef BUG_FIXEDBUF
#define BUFSIZE 1024
#else
#define BUFSIZE 4096
#endif

/* send_all sends all n bytes: send() may write fewer than asked. */
static int send_all(int c, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = send(c, p, n, 0);
        if (w < 0) {
#ifdef BUG_SIGPIPE
            /* The error is ignored: the server reads on, and writes
             * again to a client that has gone. */
            return 0;
#else
            return -1; /* the client has gone: EPIPE or ECONNRESET */
#endif
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* serve echoes one client's bytes until it closes, then closes. */
static void serve(int c)
{
    char buf[BUFSIZE];
    ssize_t n;
    while ((n = recv(c, buf, sizeof buf - 1, 0)) > 0) {
#ifdef BUG_CSTRING
        buf[n] = '\0';
        n = (ssize_t)strlen(buf); /* stops at the first zero byte */
#endif
        if (send_all(c, buf, (size_t)n) < 0)
            break;
#ifdef BUG_ONERECV
        break; /* one recv() taken for the whole message */
#endif
#ifdef BUG_FIXEDBUF
        if (n == sizeof buf - 1) {
            fprintf(stderr, "message too long\n"); /* "it must fit" */
            break;
        }
#endif
    }
#ifndef BUG_NOCLOSE
    close(c); /* without it, the client never sees end-of-stream */
#endif
}

#if !defined(FORK) && !defined(BUG_SERIAL)
static void *serve_thread(void *arg)
{
    serve((int)(long)arg);
    return NULL;
}
#endif

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s PORT\n", argv[0]);
        return 2;
    }
#if !defined(BUG_SIGPIPE) && !defined(BUG_SIGPIPE_FIN)
    /* Writing to a client that has gone raises SIGPIPE, which ends the
     * process by default: ignore it, and handle send()'s EPIPE instead. */
    signal(SIGPIPE, SIG_IGN);
#endif
#ifdef FORK
    signal(SIGCHLD, SIG_IGN); /* children are reaped by the kernel */
#endif
    int s = socket(AF_INET, SOCK_STREAM, 0);
    if (s < 0) {
        perror("socket");
        return 1;
    }
#ifndef BUG_NOREUSE
    /* Without it, bind() fails while old connections are in TIME_WAIT. */
    int one = 1;
    setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
#endif
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((unsigned short)atoi(argv[1]));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(s, (struct sockaddr *)&a, sizeof a) < 0) {
        perror("bind");
        return 1;
    }
    if (listen(s, 16) < 0) {
        perror("listen");
        return 1;
    }
    for (;;) {
        int c = accept(s, NULL, NULL);
        if (c < 0) {
            perror("accept");
            continue;
        }
#if defined(BUG_SERIAL)
        serve(c); /* the next client waits until this one has gone */
#elif defined(FORK)
        pid_t pid = fork();
        if (pid == 0) {
            close(s);
            serve(c);
            _exit(0);
        }
        if (pid < 0)
            perror("fork");
        close(c);
#else
        pthread_t t;
        if (pthread_create(&t, NULL, serve_thread, (void *)(long)c) != 0) {
            fprintf(stderr, "pthread_create failed\n");
            close(c);
            continue;
        }
        pthread_detach(t);
#endif
    }
}
