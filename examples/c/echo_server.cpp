// echo_server_cxx_sigpipe PORT: a C++ echo server in the style of the
// seed module's, with its bug. It reads 1 KiB at a time and closes a
// client at its first failed write, but it does not ignore SIGPIPE: when
// a client sends more than one read and exits without reading the echo
// (its FIN, then an RST for the first echo), the next write raises SIGPIPE
// and the whole server dies.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>

static void serve(int c)
{
    char buf[1024];
    ssize_t n;
    while ((n = recv(c, buf, sizeof buf, 0)) > 0) {
        ssize_t off = 0;
        while (off < n) {
            ssize_t w = send(c, buf + off, n - off, 0);
            if (w < 0) {
                close(c);
                return;
            }
            off += w;
        }
    }
    close(c);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        std::fprintf(stderr, "usage: %s PORT\n", argv[0]);
        return 2;
    }
    int s = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(std::atoi(argv[1]));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(s, reinterpret_cast<sockaddr *>(&a), sizeof a) < 0 || listen(s, 16) < 0) {
        std::perror("bind");
        return 1;
    }
    for (;;) {
        int c = accept(s, nullptr, nullptr);
        if (c >= 0)
            std::thread(serve, c).detach();
    }
}
