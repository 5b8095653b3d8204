/*
 * echo_server_poll PORT: the TCP echo server again, in one process and
 * one thread, with poll() instead of a thread per client. Sockets are
 * non-blocking, and what a client does not read yet waits in its own
 * buffer, so that a client that stops reading blocks nobody else.
 *
 * -DBUG_SIGPIPE leaves SIGPIPE's default action in place: the first
 * write to a client that has gone kills the whole server, every client
 * with it.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAXCLIENTS 64
#define BUFSIZE 1024

/* A client, and the echo it has not read yet: out[sent..len). */
struct client {
    int fd;
    char out[BUFSIZE];
    size_t len, sent;
};

static struct client clients[MAXCLIENTS];
static struct pollfd fds[MAXCLIENTS + 1];

static void drop(struct client *c)
{
    close(c->fd);
    c->fd = -1;
}

/* flush writes what the client has not been sent yet; -1 if it has gone. */
static int flush(struct client *c)
{
    while (c->sent < c->len) {
        ssize_t w = send(c->fd, c->out + c->sent, c->len - c->sent, 0);
        if (w < 0)
            return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1;
        c->sent += (size_t)w;
    }
    c->len = c->sent = 0;
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s PORT\n", argv[0]);
        return 2;
    }
#ifndef BUG_SIGPIPE
    signal(SIGPIPE, SIG_IGN); /* a client that has gone is EPIPE, not death */
#endif
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
    for (int i = 0; i < MAXCLIENTS; i++)
        clients[i].fd = -1;
    for (;;) {
        /* fds[0] is the listener; fds[i+1] is clients[i]. A client with
         * echo still to send is watched for room to write, not for more
         * to read: its own pace sets how much we read from it. */
        fds[0].fd = s;
        fds[0].events = POLLIN;
        for (int i = 0; i < MAXCLIENTS; i++) {
            fds[i + 1].fd = clients[i].fd;
            fds[i + 1].events = clients[i].len > 0 ? POLLOUT : POLLIN;
        }
        if (poll(fds, MAXCLIENTS + 1, -1) < 0) {
            if (errno == EINTR)
                continue;
            perror("poll");
            return 1;
        }
        if (fds[0].revents & POLLIN) {
            int fd = accept(s, NULL, NULL);
            int i = 0;
            while (i < MAXCLIENTS && clients[i].fd >= 0)
                i++;
            if (fd >= 0 && i == MAXCLIENTS) {
                close(fd); /* full */
            } else if (fd >= 0) {
                fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
                clients[i].fd = fd;
                clients[i].len = clients[i].sent = 0;
            }
        }
        for (int i = 0; i < MAXCLIENTS; i++) {
            struct client *c = &clients[i];
            short ev = fds[i + 1].revents;
            if (c->fd < 0 || ev == 0)
                continue;
            if (c->len > 0) {
                if (flush(c) < 0)
                    drop(c);
                continue;
            }
            ssize_t n = recv(c->fd, c->out, sizeof c->out, 0);
            if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
                continue;
            if (n <= 0) { /* end of stream, or an error */
                drop(c);
                continue;
            }
            c->len = (size_t)n;
            if (flush(c) < 0)
                drop(c);
        }
    }
}
