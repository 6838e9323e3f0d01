/*
 * A seccomp agent for the tests: listens at SOCKET for the container process states a runtime sends
 * (runtime-spec's listenerPath), keeps each listener fd it gets, and answers every notification.
 *
 * usage: seccomp-agent SOCKET OUT ANSWER
 *   ANSWER  errno:N  the syscall fails with errno N
 *           fake     the syscall "succeeds" with 0, without being done
 *   OUT/state-K.json  the K-th state received (K from 1), written whole once the runtime closed
 *   OUT/state-K.fds   how many fds came with it, and what the first one is (its /proc/self/fd link)
 *   OUT/notified      one line per notification: the syscall number and the pid that made it
 * It prints "listening" once it is, and runs until it is killed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define MAX_FDS 32

static const char *out;
static int answer_errno; /* 0: the fake success */

static void die(const char *what)
{
	perror(what);
	exit(1);
}

/* Write DATA to OUT/NAME whole: a temp file renamed over it. */
static void write_file(const char *name, const char *data, size_t len)
{
	char path[4096], tmp[4200];
	snprintf(path, sizeof path, "%s/%s", out, name);
	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	FILE *f = fopen(tmp, "w");
	if (!f || fwrite(data, 1, len, f) != len || fclose(f) != 0 || rename(tmp, path) != 0)
		die(path);
}

/* Read one connection to its end: the state, and the fds of its first message. Returns the listener or -1. */
static int receive_state(int conn, int number)
{
	static char buf[1 << 20];
	size_t len = 0;
	int fds[8], nfds = 0;
	for (;;) {
		char control[CMSG_SPACE(sizeof fds)];
		struct iovec iov = { .iov_base = buf + len, .iov_len = sizeof buf - len - 1 };
		struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control, .msg_controllen = sizeof control };
		ssize_t n = recvmsg(conn, &msg, MSG_CMSG_CLOEXEC);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			die("recvmsg");
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c))
			if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
				for (size_t i = 0; i < (c->cmsg_len - CMSG_LEN(0)) / sizeof(int) && nfds < 8; i++)
					memcpy(&fds[nfds++], CMSG_DATA(c) + i * sizeof(int), sizeof(int));
		if (n == 0 || len + (size_t)n >= sizeof buf - 1)
			break;
		len += (size_t)n;
	}
	close(conn);
	char name[64], link[256] = "", proc[64], info[512];
	if (nfds > 0) {
		snprintf(proc, sizeof proc, "/proc/self/fd/%d", fds[0]);
		ssize_t k = readlink(proc, link, sizeof link - 1);
		link[k > 0 ? k : 0] = '\0';
	}
	int n = snprintf(info, sizeof info, "%d %s\n", nfds, link);
	snprintf(name, sizeof name, "state-%d.fds", number);
	write_file(name, info, (size_t)n);
	snprintf(name, sizeof name, "state-%d.json", number);
	write_file(name, buf, len);
	for (int i = 1; i < nfds; i++)
		close(fds[i]);
	return nfds > 0 ? fds[0] : -1;
}

/* Answer one notification on LISTENER as ANSWER says; false when the listener has no process left. */
static int answer(int listener)
{
	struct seccomp_notif req;
	struct seccomp_notif_resp resp;
	memset(&req, 0, sizeof req);
	if (ioctl(listener, SECCOMP_IOCTL_NOTIF_RECV, &req) < 0)
		return errno == EINTR || errno == ENOENT; /* ENOENT: the caller died meanwhile */
	char line[128];
	int n = snprintf(line, sizeof line, "%d %u\n", req.data.nr, req.pid);
	char path[4096];
	snprintf(path, sizeof path, "%s/notified", out);
	FILE *f = fopen(path, "a");
	if (!f || fwrite(line, 1, (size_t)n, f) != (size_t)n || fclose(f) != 0)
		die(path);
	memset(&resp, 0, sizeof resp);
	resp.id = req.id;
	resp.error = -answer_errno;
	resp.val = 0;
	if (ioctl(listener, SECCOMP_IOCTL_NOTIF_SEND, &resp) < 0 && errno != ENOENT)
		die("SECCOMP_IOCTL_NOTIF_SEND");
	return 1;
}

int main(int argc, char **argv)
{
	if (argc != 4)
		return fprintf(stderr, "usage: seccomp-agent SOCKET OUT errno:N|fake\n"), 2;
	out = argv[2];
	if (!strncmp(argv[3], "errno:", 6))
		answer_errno = atoi(argv[3] + 6);
	else if (strcmp(argv[3], "fake"))
		return fprintf(stderr, "seccomp-agent: unknown answer %s\n", argv[3]), 2;

	int server = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	if (server < 0 || strlen(argv[1]) >= sizeof addr.sun_path)
		die("socket");
	strcpy(addr.sun_path, argv[1]);
	if (bind(server, (struct sockaddr *)&addr, sizeof addr) < 0 || listen(server, 16) < 0)
		die("bind");
	printf("listening\n");
	fflush(stdout);

	struct pollfd fds[MAX_FDS] = { { .fd = server, .events = POLLIN } };
	int count = 1, states = 0;
	for (;;) {
		if (poll(fds, (nfds_t)count, -1) < 0) {
			if (errno == EINTR)
				continue;
			die("poll");
		}
		for (int i = count - 1; i >= 0; i--) {
			if (!fds[i].revents)
				continue;
			if (fds[i].fd == server) {
				int conn = accept4(server, NULL, NULL, SOCK_CLOEXEC);
				int listener = conn < 0 ? -1 : receive_state(conn, ++states);
				if (listener >= 0 && count < MAX_FDS)
					fds[count++] = (struct pollfd){ .fd = listener, .events = POLLIN };
			} else if (!(fds[i].revents & POLLIN) || !answer(fds[i].fd)) {
				/* POLLHUP: every process of that filter has exited */
				close(fds[i].fd);
				fds[i] = fds[--count];
			}
		}
	}
}
