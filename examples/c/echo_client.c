/*
 * echo_client PORT: the case study's client, fixed. It connects to
 * 127.0.0.1 PORT, sends "Test message.", reads the reply until the server
 * closes, and prints it. -DBUG_ONERECV is the case study's own client: one
 * recv() taken for the whole reply.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s PORT\n", argv[0]);
        return 2;
    }
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((unsigned short)atoi(argv[1]));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(s, (struct sockaddr *)&a, sizeof a) < 0) {
        perror("connect");
#ifdef BUG_NOERROR
        return 0; /* says so, but a script cannot tell */
#else
        return 1;
#endif
    }
    const char *msg = "Test message.";
    send(s, msg, strlen(msg), 0);
    char buf[1024];
    size_t got = 0;
    ssize_t n;
#ifdef BUG_ONERECV
    n = recv(s, buf, sizeof buf - 1, 0); /* the reply may come in pieces */
    if (n > 0)
        got = (size_t)n;
#else
    while (got < sizeof buf - 1 && (n = recv(s, buf + got, sizeof buf - 1 - got, 0)) > 0)
        got += (size_t)n;
#endif
    buf[got] = '\0';
    printf("We received this response from the server:\n\"%s\"\n", buf);
    close(s);
    return 0;
}
