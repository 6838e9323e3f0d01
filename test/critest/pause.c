/* A stand-in for registry.k8s.io/pause: sleeps until SIGINT/SIGTERM, reaps children. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/wait.h>
static void sigdown(int s) { fprintf(stderr, "Shutting down, got signal\n"); exit(0); }
static void sigreap(int s) { while (waitpid(-1, NULL, WNOHANG) > 0); }
int main(void) {
  struct sigaction a = {0}; a.sa_handler = sigdown;
  sigaction(SIGINT, &a, NULL); sigaction(SIGTERM, &a, NULL);
  struct sigaction r = {0}; r.sa_handler = sigreap; r.sa_flags = SA_NOCLDSTOP;
  sigaction(SIGCHLD, &r, NULL);
  for (;;) pause();
}
