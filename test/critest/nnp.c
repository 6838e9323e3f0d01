/* A stand-in for registry.k8s.io/e2e-test-images/nonewprivs: a setuid-root binary printing its euid. */
#include <stdio.h>
#include <unistd.h>
int main(void) { printf("Effective uid: %d\n", geteuid()); return 0; }
