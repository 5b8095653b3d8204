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

static int readn(int c, void *p, size_t n) {
    size_t got = 0;
    while (got < n) {
        ssize_t r = recv(c, (char *)p + got, n - got, 0);
        if (r <= 0) return -1;
        got += r;
#ifdef BUG_ONERECV
        break;
#endif
    }
    return 0;
}

static void *serve(void *p) {
    int c = (int)(long)p;
    uint32_t req[2];
    while (readn(c, req, 8) == 0) {
#ifdef BUG_BYTEORDER
        uint32_t sum = req[0] + req[1];
#else
        uint32_t sum = htonl(ntohl(req[0]) + ntohl(req[1]));
#endif
        send(c, &sum, 4, MSG_NOSIGNAL);
    }
    close(c);
    return NULL;
}

int main(int argc, char **argv) {
    int s = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_port = htons(atoi(argv[1]));
    if (bind(s, (struct sockaddr *)&a, sizeof a) < 0 || listen(s, 16) < 0) { perror("bind"); return 1; }
    for (;;) {
        int c = accept(s, NULL, NULL);
        pthread_t t;
        pthread_create(&t, NULL, serve, (void *)(long)c);
        pthread_detach(t);
    }
}
