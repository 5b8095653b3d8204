/*
 * udp_echo_server PORT: answers every datagram with one datagram holding
 * the same bytes, sent back to the address it came from.
 *
 * The Makefile also builds it with one classic bug each (-DBUG_...).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
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
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((unsigned short)atoi(argv[1]));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(s, (struct sockaddr *)&a, sizeof a) < 0) {
        perror("bind");
        return 1;
    }
#ifdef BUG_TRUNCATE
    static char buf[512]; /* the rest of a longer datagram is lost */
#else
    static char buf[65536]; /* more than the largest datagram UDP carries */
#endif
#ifdef BUG_ONEPEER
    struct sockaddr_in client; /* "the" client: the first one */
    int have_client = 0;
#endif
    for (;;) {
        struct sockaddr_in from;
        memset(&from, 0, sizeof from);
#ifdef BUG_NOREPLY
        socklen_t len = 0; /* must be sizeof from: no address comes back */
#else
        socklen_t len = sizeof from;
#endif
        ssize_t n = recvfrom(s, buf, sizeof buf - 1, 0, (struct sockaddr *)&from, &len);
        if (n < 0) {
            perror("recvfrom");
            continue;
        }
#ifdef BUG_MERGE
        /* "The rest of the message may be on its way": whatever comes
         * within a second is appended, and two datagrams go back as one. */
        struct pollfd p = {s, POLLIN, 0};
        if (poll(&p, 1, 1000) == 1) {
            ssize_t more = recv(s, buf + n, sizeof buf - 1 - (size_t)n, 0);
            if (more > 0)
                n += more;
        }
#endif
#ifdef BUG_CSTRING
        buf[n] = '\0';
        n = (ssize_t)strlen(buf); /* stops at the first zero byte */
#endif
#ifdef BUG_ONEPEER
        if (!have_client) {
            client = from;
            have_client = 1;
        }
        from = client;
#endif
        if (sendto(s, buf, (size_t)n, 0, (struct sockaddr *)&from, len) < 0)
            perror("sendto");
    }
}
