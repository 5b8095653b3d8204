/*
 * unix_echo_server PATH: the echo server on a Unix-domain stream socket at
 * PATH. It serves each client in a thread of its own and sends back every
 * byte it receives, in order, until the client closes.
 *
 * The Makefile also builds it with one classic bug each (-DBUG_...).
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static void *serve(void *arg)
{
    int c = (int)(long)arg;
    char buf[4096];
    ssize_t n;
    while ((n = recv(c, buf, sizeof buf, 0)) > 0) {
        ssize_t off = 0;
        while (off < n) { /* send() may write fewer bytes than asked */
            ssize_t w = send(c, buf + off, (size_t)(n - off), 0);
            if (w < 0)
                goto done;
            off += w;
        }
#ifdef BUG_ONERECV
        break; /* one recv() taken for the whole message */
#endif
    }
done:
    close(c);
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s PATH\n", argv[0]);
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    struct sockaddr_un a;
    memset(&a, 0, sizeof a);
    a.sun_family = AF_UNIX;
    if (strlen(argv[1]) >= sizeof a.sun_path) {
        fprintf(stderr, "%s: path too long\n", argv[1]);
        return 2;
    }
    strcpy(a.sun_path, argv[1]);
#ifndef BUG_NOUNLINK
    /* A socket file left by the last run makes bind() fail: remove it. */
    unlink(argv[1]);
#endif
    int s = socket(AF_UNIX, SOCK_STREAM, 0);
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
