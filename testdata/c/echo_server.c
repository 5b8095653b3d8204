/* A student-style TCP echo server, with one classic bug per -DBUG_... */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <pthread.h>
static void serve(int c);
static void *thr(void *p) { serve((int)(long)p); return NULL; }

static void serve(int c) {
    char buf[4096];
    for (;;) {
        ssize_t n = recv(c, buf, sizeof buf - 1, 0);
        if (n <= 0) break;
#ifdef BUG_CSTRING
        buf[n] = 0;
        n = strlen(buf);
#endif
        ssize_t off = 0;
        while (off < n) {
            ssize_t w = send(c, buf + off, n - off, 0);
#ifdef BUG_SIGPIPE
            if (w < 0) { off = n; break; }   /* ignores the error, goes on reading */
#else
            if (w < 0) { close(c); return; }
#endif
            off += w;
        }
#ifdef BUG_ONERECV
        break;
#endif
    }
    close(c);
}

int main(int argc, char **argv) {
    if (argc < 2) { fprintf(stderr, "usage: %s PORT\n", argv[0]); return 2; }
#ifndef BUG_SIGPIPE
    signal(SIGPIPE, SIG_IGN);
#endif
    signal(SIGCHLD, SIG_IGN); /* reap children */
    int s = socket(AF_INET, SOCK_STREAM, 0);
#ifndef BUG_NOREUSE
    int one = 1;
    setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
#endif
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_port = htons(atoi(argv[1]));
    a.sin_addr.s_addr = htonl(INADDR_ANY);
    if (bind(s, (struct sockaddr *)&a, sizeof a) < 0) { perror("bind"); return 1; }
    if (listen(s, 16) < 0) { perror("listen"); return 1; }
    for (;;) {
        int c = accept(s, NULL, NULL);
        if (c < 0) continue;
#ifdef BUG_SERIAL
        serve(c);
#elif defined(THREADS)
        pthread_t t;
        pthread_create(&t, NULL, thr, (void *)(long)c);
        pthread_detach(t);
#else
        if (fork() == 0) { close(s); serve(c); _exit(0); }
        close(c);
#endif
    }
}
