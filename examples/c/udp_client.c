/*
 * udp_client PORT: sends the datagram "ping" to 127.0.0.1 PORT and prints
 * the reply on a line of its own. UDP may lose a datagram: with no reply
 * within 500ms it sends again, 5 times in all, then gives up with exit
 * status 1.
 *
 * The Makefile also builds it with one classic bug each (-DBUG_...).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#ifdef BUG_NORETRY
#define TRIES 1
#else
#define TRIES 5
#endif

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s PORT\n", argv[0]);
        return 2;
    }
    int s = socket(AF_INET, SOCK_DGRAM, 0);
#ifndef BUG_NOTIMEOUT
    /* Without a timeout, recv() waits for ever for a reply that was lost. */
    struct timeval tv = {0, 500000};
    setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
#endif
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((unsigned short)atoi(argv[1]));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    char buf[65536];
#ifdef BUG_FOREVER
    for (;;) { /* never gives up */
#else
    for (int try = 0; try < TRIES; try++) {
#endif
        sendto(s, "ping", 4, 0, (struct sockaddr *)&a, sizeof a);
        ssize_t n = recv(s, buf, sizeof buf, 0);
        if (n >= 0) {
            printf("%.*s\n", (int)n, buf);
            return 0;
        }
    }
    fprintf(stderr, "no reply after %d tries\n", TRIES);
    return 1;
}
