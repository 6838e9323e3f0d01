/* A stand-in for nginx in critest's images (offline): a static binary installed as /usr/sbin/nginx.
 * - re-execs itself with argv[0] "nginx: master process nginx -g daemon off;" (what real nginx's
 *   /proc/PID/cmdline shows; comm stays "nginx", so `pidof nginx` finds it),
 * - writes /var/run/nginx.pid,
 * - serves HTTP 200 with a small page on the port given by $NGINX_PORT (default 80),
 * - exits on SIGTERM/SIGQUIT/SIGINT (pid 1 ignores default-action signals). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>

#define TITLE "nginx: master process nginx -g daemon off;"
static void bye(int s) { (void)s; unlink("/var/run/nginx.pid"); _exit(0); }
int main(int argc, char **argv) {
  const char *title = getenv("FAKE_TITLE") ? getenv("FAKE_TITLE") : TITLE;
  if (strcmp(argv[0], title) != 0) {
    char *args[] = {(char *)title, NULL};
    /* exec by the real path: the kernel takes comm from it ("nginx", what pidof looks for) */
    char self[4096]; ssize_t k = readlink("/proc/self/exe", self, sizeof self - 1);
    if (k > 0) { self[k] = 0; execv(self, args); }
    execv("/proc/self/exe", args);
    perror("execv");
  }
  signal(SIGTERM, bye); signal(SIGQUIT, bye); signal(SIGINT, bye);
  signal(SIGCHLD, SIG_IGN); signal(SIGPIPE, SIG_IGN);
  if (getenv("FAKE_BANNER")) { fprintf(stderr, "%s\n", getenv("FAKE_BANNER")); fflush(stderr); }
  FILE *f = fopen("/var/run/nginx.pid", "w");
  if (f) { fprintf(f, "%d\n", getpid()); fclose(f); }
  const char *p = getenv("NGINX_PORT");
  int port = p ? atoi(p) : 80;
  int s = socket(AF_INET6, SOCK_STREAM, 0);
  int one = 1, zero = 0;
  setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  setsockopt(s, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);
  struct sockaddr_in6 a; memset(&a, 0, sizeof a);
  a.sin6_family = AF_INET6; a.sin6_port = htons(port); a.sin6_addr = in6addr_any;
  if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof a) < 0) {
    /* no IPv6 in the namespace: fall back to IPv4 */
    if (s >= 0) close(s);
    s = socket(AF_INET, SOCK_STREAM, 0);
    setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in b; memset(&b, 0, sizeof b);
    b.sin_family = AF_INET; b.sin_port = htons(port); b.sin_addr.s_addr = htonl(INADDR_ANY);
    if (bind(s, (struct sockaddr *)&b, sizeof b) < 0) { perror("bind"); return 1; }
  }
  if (listen(s, 64) < 0) { perror("listen"); return 1; }
  fprintf(stderr, "fake nginx listening on %d\n", port);
  const char body[] = "<html><body><h1>Welcome to nginx!</h1></body></html>\n";
  char resp[512];
  int n = snprintf(resp, sizeof resp, "HTTP/1.1 200 OK\r\nServer: nginx\r\nContent-Type: text/html\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n%s", strlen(body), body);
  for (;;) {
    int c = accept(s, NULL, NULL);
    if (c < 0) continue;
    char buf[4096]; (void)read(c, buf, sizeof buf);
    (void)write(c, resp, n);
    shutdown(c, SHUT_WR); close(c);
  }
}
