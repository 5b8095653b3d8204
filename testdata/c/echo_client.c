/* The case study's client, in C: one recv() unless -DFIXED. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv) {
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_port = htons(atoi(argv[1]));
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    if (connect(s, (struct sockaddr *)&a, sizeof a) < 0) { perror("connect"); return 1; }
    send(s, "Test message.", 13, 0);
    char buf[1024];
    size_t n = 0;
#ifdef FIXED
    ssize_t r;
    while ((r = recv(s, buf + n, sizeof buf - 1 - n, 0)) > 0) n += r;
#else
    ssize_t r = recv(s, buf, sizeof buf - 1, 0);
    if (r > 0) n = r;
#endif
    buf[n] = 0;
    printf("We received this response from the server:\n\"%s\"\n", buf);
    return 0;
}
