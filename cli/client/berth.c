/*
 * berth: the command line, a thin client of the berth server (actors/server/).
 *
 * It sends the call (argv, environment, cwd) to <root>/@server/sock, starting the server when
 * none listens, and does what the server asks until EXIT: spawn processes as its own children
 * (so containers belong to the caller's process tree, as runc's do), wait for them, write to
 * stdout and stderr, read stdin, proxy a terminal, forward signals. The wire protocol is
 * actors/server/protocol.ts; protocol.h is generated from it by cli/client/build.ts.
 * With --no-server or BERTH_NO_SERVER, for `berth server` itself, and for spec and statechart (which
 * read no state), it execs Node on the CLI.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/pidfd.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "protocol.h"

#define SUFFIX "/build/bin/berth"
#define CHUNK 65536

/* Signals read from a signalfd: forwarded after FORWARD, SIGWINCH also resizes the pty. */
static const int handled[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH };
static sigset_t handled_set;

struct buf { char *p; size_t n, cap; };
struct rd { const unsigned char *p; size_t n; int bad; };
struct waiter { uint32_t req; pid_t pid; int fd; };

static char proj[PATH_MAX], root[PATH_MAX], sdir[PATH_MAX + 16];
static int sock = -1, server_pidfd = -1, sigfd = -1, accepted, forwarding;
static int std_closed[3];           /* fds 0-2 we were started without (held by /dev/null) */
static struct buf in, out;          /* bytes from the server, the frame being built */
static struct waiter *waits;
static size_t nwaits;

/* The terminal proxy: a copy of the server's pty master, fd 0's termios while it is raw. */
static int master = -1, tty_raw, stdin_eof;
static struct termios saved_tty;
static char to_master[CHUNK];
static size_t to_master_len, to_master_off;

/* A READ_STDIN being answered. */
static int stdin_wanted;
static uint32_t stdin_req;
static struct buf stdin_data;

static void restore_tty(void)
{
	if (tty_raw)
		tcsetattr(0, TCSANOW, &saved_tty);
	tty_raw = 0;
}

static void die(const char *fmt, ...)
{
	va_list ap;
	restore_tty();
	fputs("berth: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static void grow(struct buf *b, size_t n)
{
	if (b->n + n <= b->cap)
		return;
	b->cap = (b->n + n) * 2;
	if (!(b->p = realloc(b->p, b->cap)))
		die("out of memory");
}

static void put(struct buf *b, const void *d, size_t n)
{
	grow(b, n);
	memcpy(b->p + b->n, d, n);
	b->n += n;
}

static void put_u32(struct buf *b, uint32_t v)
{
	unsigned char le[4] = { v, v >> 8, v >> 16, v >> 24 };
	put(b, le, 4);
}

static void put_str(struct buf *b, const char *s)
{
	put_u32(b, strlen(s));
	put(b, s, strlen(s));
}

/* Write all of it. A reader that is gone (EPIPE: SIGPIPE is ignored) ends it quietly. */
static void write_all(int fd, const void *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EAGAIN) {
			/* a caller's non-blocking stdout */
			poll(&(struct pollfd){ fd, POLLOUT, 0 }, 1, -1);
			continue;
		}
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return;
		p = (const char *)p + w;
		n -= w;
	}
}

static void begin(int type)
{
	out.n = 0;
	put_u32(&out, 0);
	put(&out, &(char){ type }, 1);
}

/* A failed send shows up as the end of the connection at the next read. */
static void send_frame(void)
{
	uint32_t len = out.n - 4;
	memcpy(out.p, (unsigned char[4]){ len, len >> 8, len >> 16, len >> 24 }, 4);
	write_all(sock, out.p, out.n);
}

static void reply(uint32_t req, int32_t result, int32_t a, int32_t b)
{
	begin(C_REPLY);
	put_u32(&out, req);
	put_u32(&out, result);
	put_u32(&out, a);
	put_u32(&out, b);
	send_frame();
}

static uint32_t get_u32(struct rd *r)
{
	if (r->n < 4) {
		r->bad = 1;
		return 0;
	}
	uint32_t v = r->p[0] | r->p[1] << 8 | r->p[2] << 16 | (uint32_t)r->p[3] << 24;
	r->p += 4;
	r->n -= 4;
	return v;
}

/* A string as a NUL-terminated copy (its length in *len). */
static char *get_str(struct rd *r, size_t *len)
{
	size_t n = get_u32(r);
	if (n > r->n)
		r->bad = 1, n = 0;
	char *s = malloc(n + 1);
	if (!s)
		die("out of memory");
	memcpy(s, r->p, n);
	s[n] = 0;
	r->p += n;
	r->n -= n;
	if (len)
		*len = n;
	return s;
}

/* A list of strings as a NULL-terminated array. */
static char **get_strs(struct rd *r)
{
	size_t n = get_u32(r);
	if (n > r->n / 4)
		r->bad = 1, n = 0;
	char **v = calloc(n + 1, sizeof *v);
	if (!v)
		die("out of memory");
	for (size_t i = 0; i < n; i++)
		v[i] = get_str(r, NULL);
	return v;
}

static void free_strs(char **v)
{
	for (char **s = v; *s; s++)
		free(*s);
	free(v);
}

static void bad_message(const char *what, int type)
{
	die("%s message (type %d) from the berth server (its log: %s/log)", what, type, sdir);
}

static void end_of(struct rd *r, int type)
{
	if (r->bad || r->n)
		bad_message("a malformed", type);
}

/* A close-on-exec copy of the server's fd, or -errno. */
static int server_fd(int fd)
{
	if (server_pidfd < 0)
		return server_pidfd;
	int copy = pidfd_getfd(server_pidfd, fd, 0);
	return copy < 0 ? -errno : copy;
}

/* SPAWN: SPEC[i] = (kind, fd) becomes the child's fd i. Returns the pid or -errno. */
static int spawn_child(int exe_fd, const char *path, char **argv, char **env, uint32_t n, const int32_t *spec)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t none, all;
	char exe_path[64];
	int *src = malloc((n + 1) * sizeof *src), exe = -1, err = 0;
	pid_t pid = 0;

	posix_spawn_file_actions_init(&fa);
	posix_spawnattr_init(&attr);
	for (uint32_t i = 0; i < n; i++)
		src[i] = -1;
	if (exe_fd >= 0) {
		if ((exe = server_fd(exe_fd)) < 0)
			err = -exe;
		snprintf(exe_path, sizeof exe_path, "/proc/self/fd/%d", exe);
		path = exe_path;
	}
	for (uint32_t i = 0; i < n && !err; i++) {
		int kind = spec[2 * i], fd = spec[2 * i + 1], from;
		if (kind == FD_NULL) {
			err = posix_spawn_file_actions_addopen(&fa, i, "/dev/null", O_RDWR, 0);
			continue;
		}
		if (kind == FD_SERVER)
			from = server_fd(fd);
		else if (kind == FD_CLIENT)
			from = fd < 0 || (fd < 3 && std_closed[fd]) || fcntl(fd, F_GETFD) < 0 ? -EBADF : fd;
		else
			from = -EINVAL;
		if (from < 0) {
			err = -from;
			break;
		}
		/* Above every target, so that no dup2 overwrites a source before it is read. */
		if ((src[i] = fcntl(from, F_DUPFD_CLOEXEC, n)) < 0)
			err = errno;
		if (kind == FD_SERVER)
			close(from);
		if (!err)
			err = posix_spawn_file_actions_adddup2(&fa, src[i], i);
	}
	if (!err) {
		sigemptyset(&none);
		sigfillset(&all);
		posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
		posix_spawnattr_setsigmask(&attr, &none);
		posix_spawnattr_setsigdefault(&attr, &all);
		err = posix_spawn(&pid, path, &fa, &attr, argv, env);
	}
	for (uint32_t i = 0; i < n; i++)
		if (src[i] >= 0)
			close(src[i]);
	if (exe >= 0)
		close(exe);
	free(src);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	return err ? -err : pid;
}

static void on_spawn(struct rd *r)
{
	uint32_t req = get_u32(r);
	int32_t exe_fd = get_u32(r);
	char *path = get_str(r, NULL), **argv = get_strs(r), **env = get_strs(r);
	uint32_t n = get_u32(r);
	if (n > r->n / 8)
		r->bad = 1, n = 0;
	int32_t *spec = malloc((2 * n + 1) * sizeof *spec);
	for (uint32_t i = 0; i < 2 * n; i++)
		spec[i] = get_u32(r);
	end_of(r, S_SPAWN);
	reply(req, spawn_child(exe_fd, path, argv, env, n, spec), 0, 0);
	free(path);
	free_strs(argv);
	free_strs(env);
	free(spec);
}

/* WAIT: watch a child of ours through a pidfd; reap() answers when it ends. */
static void on_wait(uint32_t req, pid_t pid)
{
	siginfo_t si;
	int fd = -1;
	errno = ECHILD;
	/* WNOHANG|WNOWAIT: is it our child (not reaped yet)? told at once, nothing reaped */
	if (pid <= 0 || waitid(P_PID, pid, &si, WEXITED | WNOHANG | WNOWAIT) < 0 || (fd = pidfd_open(pid, 0)) < 0) {
		reply(req, errno == ESRCH ? -ECHILD : -errno, 0, 0);
		return;
	}
	if (!(waits = realloc(waits, (nwaits + 1) * sizeof *waits)))
		die("out of memory");
	waits[nwaits++] = (struct waiter){ req, pid, fd };
}

static void reap(struct waiter *w)
{
	siginfo_t si = { 0 };
	if (waitid(P_PID, w->pid, &si, WEXITED) < 0)
		reply(w->req, -errno, 0, 0);
	else if (si.si_code == CLD_EXITED)
		reply(w->req, w->pid, si.si_status, 0);
	else
		reply(w->req, w->pid, -1, si.si_status);
	close(w->fd);
}

/* The pty gets the size of our terminal (fd 1's, else fd 0's). */
static void resize(void)
{
	struct winsize ws;
	if (master >= 0 && (ioctl(1, TIOCGWINSZ, &ws) == 0 || ioctl(0, TIOCGWINSZ, &ws) == 0))
		ioctl(master, TIOCSWINSZ, &ws);
}

static void on_terminal(uint32_t req, int fd)
{
	int m = server_fd(fd);
	reply(req, m < 0 ? m : 0, 0, 0);
	if (m < 0)
		return;
	if (master >= 0)
		close(master);
	master = m;
	/* our copy only: the server closes its own after the reply */
	fcntl(m, F_SETFL, fcntl(m, F_GETFL) | O_NONBLOCK);
	struct termios raw;
	if (!tty_raw && tcgetattr(0, &saved_tty) == 0) {
		raw = saved_tty;
		cfmakeraw(&raw);
		tty_raw = tcsetattr(0, TCSANOW, &raw) == 0;
	}
	resize();
}

static void end_proxy(void)
{
	close(master);
	master = -1;
	to_master_len = to_master_off = 0;
	restore_tty();
}

/* The master's output to fd 1. EIO (no slave left) or EOF ends the proxy. */
static void from_master(void)
{
	char b[CHUNK];
	ssize_t n = read(master, b, sizeof b);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n > 0)
		write_all(1, b, n);
	else
		end_proxy();
}

/* Input waiting for the master, written as it takes it (non-blocking: its output keeps flowing). */
static void flush_to_master(void)
{
	ssize_t n = master < 0 ? -1 : write(master, to_master + to_master_off, to_master_len - to_master_off);
	if (n > 0)
		to_master_off += n;
	else if (n < 0 && errno != EAGAIN && errno != EINTR)
		to_master_off = to_master_len;
	if (to_master_off == to_master_len)
		to_master_len = to_master_off = 0;
}

static void send_stdin(void)
{
	begin(C_STDIN);
	put_u32(&out, stdin_req);
	put_u32(&out, stdin_data.n);
	put(&out, stdin_data.p, stdin_data.n);
	send_frame();
	stdin_wanted = 0;
	stdin_data.n = 0;
}

/* fd 0 goes to a READ_STDIN's answer if one is pending, else to the pty. */
static void on_stdin(void)
{
	char *at = to_master;
	if (stdin_wanted) {
		grow(&stdin_data, CHUNK);
		at = stdin_data.p + stdin_data.n;
	}
	ssize_t n = read(0, at, CHUNK);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		stdin_eof = 1;
		if (stdin_wanted)
			send_stdin();
	} else if (stdin_wanted) {
		stdin_data.n += n;
		if (stdin_data.n > MAX_FRAME - 9)
			die("standard input is larger than the %d bytes a message can carry", MAX_FRAME - 9);
	} else {
		to_master_len = n;
		flush_to_master();
	}
}

/* A signal the client dies of as it would by default (after putting the terminal back). */
static void die_by(int sig)
{
	sigset_t s;
	restore_tty();
	signal(sig, SIG_DFL);
	sigemptyset(&s);
	sigaddset(&s, sig);
	raise(sig);
	sigprocmask(SIG_UNBLOCK, &s, NULL);
	_exit(128 + sig);
}

static void on_signals(void)
{
	struct signalfd_siginfo si;
	while (read(sigfd, &si, sizeof si) == sizeof si) {
		if (si.ssi_signo == SIGWINCH)
			resize();
		if (forwarding) {
			begin(C_SIGNAL);
			put_u32(&out, si.ssi_signo);
			send_frame();
		} else if (si.ssi_signo != SIGWINCH)
			die_by(si.ssi_signo);
	}
}

static long now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* EXIT: the pty's last output (for at most 1 s), then the terminal as it was. */
static void finish(int code)
{
	long deadline = now_ms() + 1000, left;
	while (master >= 0 && (left = deadline - now_ms()) > 0 && poll(&(struct pollfd){ master, POLLIN, 0 }, 1, left) > 0)
		from_master();
	restore_tty();
	exit(code);
}

static void on_frame(int type, struct rd *r)
{
	uint32_t req, v;
	int32_t fd;
	char *data;
	size_t n;
	if (!accepted && type != S_ACCEPTED)
		bad_message("an unexpected first", type);
	switch (type) {
	case S_ACCEPTED:
		v = get_u32(r);
		end_of(r, type);
		if (v != PROTOCOL_VERSION)
			die("the berth server speaks protocol %d, this client %d (its log: %s/log)", (int)v, PROTOCOL_VERSION, sdir);
		accepted = 1;
		break;
	case S_SPAWN:
		on_spawn(r);
		break;
	case S_WAIT:
		req = get_u32(r);
		v = get_u32(r);
		end_of(r, type);
		on_wait(req, (pid_t)v);
		break;
	case S_WRITE:
		fd = get_u32(r);
		data = get_str(r, &n);
		r->bad |= fd != 1 && fd != 2;
		end_of(r, type);
		write_all(fd, data, n);
		free(data);
		break;
	case S_TERMINAL:
		req = get_u32(r);
		fd = get_u32(r);
		end_of(r, type);
		on_terminal(req, fd);
		break;
	case S_FORWARD:
		end_of(r, type);
		forwarding = 1;
		break;
	case S_READ_STDIN:
		stdin_req = get_u32(r);
		end_of(r, type);
		stdin_wanted = 1;
		stdin_data.n = 0;
		if (stdin_eof)
			send_stdin();
		break;
	case S_EXIT:
		v = get_u32(r);
		end_of(r, type);
		finish((int32_t)v);
		break;
	default:
		bad_message("an unknown", type);
	}
}

/* Read what the server sent and handle its whole frames; 0 when the connection has ended. */
static int on_server(void)
{
	size_t at = 0;
	grow(&in, CHUNK);
	ssize_t n = read(sock, in.p + in.n, CHUNK);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return 1;
	if (n <= 0)
		return 0;
	in.n += n;
	while (in.n - at >= 4) {
		const unsigned char *p = (const unsigned char *)in.p + at;
		uint32_t len = p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
		if (len < 1 || len > MAX_FRAME)
			die("a frame of %u bytes from the berth server (its log: %s/log)", len, sdir);
		if (in.n - at - 4 < len)
			break;
		at += 4 + len;
		on_frame(p[4], &(struct rd){ p + 5, len - 1, 0 });
	}
	memmove(in.p, in.p + at, in.n - at);
	in.n -= at;
	return 1;
}

/* Do what the server asks until EXIT; returns when the connection ends first. */
static void serve(void)
{
	struct pollfd *p = NULL;
	for (;;) {
		size_t n = 2, w0;
		int i_in = -1, i_m = -1;
		if (!(p = realloc(p, (4 + nwaits) * sizeof *p)))
			die("out of memory");
		p[0] = (struct pollfd){ sock, POLLIN, 0 };
		p[1] = (struct pollfd){ sigfd, POLLIN, 0 };
		if (!stdin_eof && (stdin_wanted || (master >= 0 && !to_master_len)))
			i_in = n, p[n++] = (struct pollfd){ 0, POLLIN, 0 };
		if (master >= 0)
			i_m = n, p[n++] = (struct pollfd){ master, POLLIN | (to_master_len ? POLLOUT : 0), 0 };
		w0 = n;
		for (size_t i = 0; i < nwaits; i++)
			p[n++] = (struct pollfd){ waits[i].fd, POLLIN, 0 };
		if (poll(p, n, -1) < 0) {
			if (errno == EINTR)
				continue;
			die("poll: %s", strerror(errno));
		}
		if (p[1].revents)
			on_signals();
		if (i_m >= 0 && master >= 0 && (p[i_m].revents & POLLOUT))
			flush_to_master();
		if (i_m >= 0 && master >= 0 && (p[i_m].revents & ~POLLOUT))
			from_master();
		if (i_in >= 0 && p[i_in].revents)
			on_stdin();
		for (size_t i = nwaits; i-- > 0;)
			if (p[w0 + i].revents) {
				reap(&waits[i]);
				waits[i] = waits[--nwaits];
			}
		if (p[0].revents && !on_server()) {
			free(p);
			return;
		}
	}
}

/* The server's socket, connected; or -errno. A path too long for sun_path goes through /proc/self/fd. */
static int try_connect(void)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int dir = -1, fd;
	if (snprintf(a.sun_path, sizeof a.sun_path, "%s/sock", sdir) >= (int)sizeof a.sun_path) {
		if ((dir = open(sdir, O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0)
			return -errno;
		snprintf(a.sun_path, sizeof a.sun_path, "/proc/self/fd/%d/sock", dir);
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) < 0) {
		int err = errno;
		close(fd);
		fd = -err;
	} else if (fd < 0)
		fd = -errno;
	if (dir >= 0)
		close(dir);
	return fd;
}

/* Node on the CLI: NODE_PATH is the Node berth was built with; else the one on PATH. */
static void exec_node(char **argv, char **env)
{
	execve(NODE_PATH, argv, env);
	execvpe("node", argv, env);
}

/* mkdir -p the root (root's ROOT_MODE_ROOT, a user's ROOT_MODE_USER), then its server folder (0700), which must be ours alone. */
static void make_dirs(void)
{
	char p[PATH_MAX];
	struct stat st;
	snprintf(p, sizeof p, "%s", root);
	for (char *s = p + 1;; s++) {
		if (*s && *s != '/')
			continue;
		char c = *s;
		*s = 0;
		if (mkdir(p, geteuid() ? ROOT_MODE_USER : ROOT_MODE_ROOT) < 0 && errno != EEXIST)
			die("cannot make %s: %s", p, strerror(errno));
		if (!(*s = c))
			break;
	}
	if (mkdir(sdir, 0700) < 0 && errno != EEXIST)
		die("cannot make %s: %s", sdir, strerror(errno));
	if (lstat(sdir, &st) < 0 || !S_ISDIR(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 077))
		die("%s must be a folder owned by uid %d with no group or other permissions", sdir, (int)geteuid());
}

/* The grandchild: the server, in a session of its own, its log as stdout and stderr, READY at fd 3. */
static void exec_server(int ready)
{
	char log[sizeof sdir + 8], launch[PATH_MAX + 32], *idle = getenv("BERTH_SERVER_IDLE"), *env[4] = {
		"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "BERTH_READY_FD=3", NULL, NULL
	};
	/* An idle server's RSS (the target: under 60 MB): a young generation of 1 MB (its semi-spaces had
	 * grown to 8 MB) and no V8 worker threads (a server's heap is small; each thread held ~0.6 MB). */
	char *argv[] = { NODE_PATH, "--max-semi-space-size=1", "--v8-pool-size=0", launch, "--root", root, "server", NULL };
	sigset_t none;
	snprintf(log, sizeof log, "%s/log", sdir);
	snprintf(launch, sizeof launch, "%s/build/bundle/launch.cjs", proj);
	/* above 0-3 first, so that no dup2 below overwrites another's source */
	int r = fcntl(ready, F_DUPFD_CLOEXEC, 10), nul = fcntl(open("/dev/null", O_RDWR | O_CLOEXEC), F_DUPFD_CLOEXEC, 10),
	    l = fcntl(open(log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600), F_DUPFD_CLOEXEC, 10);
	if (r < 0 || nul < 0 || l < 0 || dup2(nul, 0) < 0 || dup2(l, 1) < 0 || dup2(l, 2) < 0 || dup2(r, 3) < 0)
		_exit(127);
	close_range(4, ~0U, 0);
	/* holding no caller's folder busy (an unmount, a test's temp folder) */
	if (chdir("/") < 0)
		_exit(127);
	for (int s = 1; s < NSIG; s++)
		signal(s, SIG_DFL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	if (idle && asprintf(&env[2], "BERTH_SERVER_IDLE=%s", idle) < 0)
		_exit(127);
	exec_node(argv, env);
	_exit(127);
}

/* Start the server unless a racing call just did (start.lock); returns a connection or -errno. */
static int start_server(void)
{
	char lock[sizeof sdir + 16], c;
	int fd, lk, p[2];
	ssize_t n;
	pid_t child;
	make_dirs();
	snprintf(lock, sizeof lock, "%s/start.lock", sdir);
	if ((lk = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) < 0 || flock(lk, LOCK_EX) < 0)
		die("cannot lock %s: %s", lock, strerror(errno));
	if ((fd = try_connect()) != -ENOENT && fd != -ECONNREFUSED) {
		close(lk);
		return fd;
	}
	if (pipe2(p, O_CLOEXEC) < 0 || (child = fork()) < 0)
		die("cannot start the berth server: %s", strerror(errno));
	if (child == 0) {
		setsid();
		if (fork() == 0)
			exec_server(p[1]);
		_exit(0);
	}
	close(p[1]);
	waitpid(child, NULL, 0);
	while ((n = read(p[0], &c, 1)) < 0 && errno == EINTR)
		;
	close(p[0]);
	if (n != 1)
		die("the berth server did not start (its log: %s/log)", sdir);
	close(lk);
	return try_connect();
}

static void connect_server(void)
{
	struct ucred cr;
	socklen_t len = sizeof cr;
	sock = try_connect();
	if (sock == -ENOENT || sock == -ECONNREFUSED) {
		/* The waits for the lock and the server are not polled: signals act as by default meanwhile. */
		sigprocmask(SIG_UNBLOCK, &handled_set, NULL);
		sock = start_server();
		sigprocmask(SIG_BLOCK, &handled_set, NULL);
	}
	if (sock < 0)
		die("cannot reach the berth server at %s/sock: %s", sdir, strerror(-sock));
	/* before the call is sent: it carries our environment */
	if (getsockopt(sock, SOL_SOCKET, SO_PEERCRED, &cr, &len) < 0)
		die("cannot reach the berth server at %s/sock: %s", sdir, strerror(errno));
	if (cr.uid != geteuid())
		die("the berth server at %s/sock runs as uid %d, not as uid %d", sdir, (int)cr.uid, (int)geteuid());
	server_pidfd = pidfd_open(cr.pid, 0);
	if (server_pidfd < 0)
		server_pidfd = -errno; /* SPAWN and TERMINAL will answer with it */
}

static void send_call(int argc, char **argv)
{
	char cwd[PATH_MAX];
	size_t n = 0;
	begin(C_CALL);
	put_u32(&out, PROTOCOL_VERSION);
	put_u32(&out, argc - 1);
	for (int i = 1; i < argc; i++)
		put_str(&out, argv[i]);
	while (environ[n])
		n++;
	put_u32(&out, n);
	for (size_t i = 0; i < n; i++)
		put_str(&out, environ[i]);
	put_str(&out, getcwd(cwd, sizeof cwd) ? cwd : "");
	if (out.n - 4 > MAX_FRAME)
		die("the arguments and environment are larger than the %d bytes a message can carry", MAX_FRAME);
	send_frame();
}

static int takes_value(const char *name, size_t len)
{
	for (const char *const *f = value_flags; *f; f++)
		if (strlen(*f) == len && !strncmp(*f, name, len))
			return 1;
	return 0;
}

/* The leading global flags (runc style), for --root and --no-server; returns the command or NULL. */
static const char *scan_flags(int argc, char **argv, const char **root_flag, int *no_server)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *name = a + 1 + (a[1] == '-'), *eq = strchr(name, '='), *value = eq ? eq + 1 : NULL;
		size_t len = eq ? (size_t)(eq - name) : strlen(name);
		if (a[0] != '-')
			return a;
		if (!strcmp(a, "--"))
			return NULL;
		if (!eq && takes_value(name, len) && i + 1 < argc)
			value = argv[++i];
		if (len == 4 && !strncmp(name, "root", 4))
			*root_flag = value;
		if (len == 9 && !strncmp(name, "no-server", 9))
			*no_server = 1;
	}
	return NULL;
}

/* Whether this process is in the host's own user namespace (its uid_map the identity). */
static int in_initial_userns(void)
{
	unsigned long inner, outer, count;
	FILE *f = fopen("/proc/self/uid_map", "re");
	int initial = f && fscanf(f, "%lu %lu %lu", &inner, &outer, &count) == 3 && inner == 0 && outer == 0 && count == 4294967295UL;
	if (f)
		fclose(f);
	return initial;
}

/* The state root: --root (made absolute against the cwd), or root's DEFAULT_ROOT, or a user's
 * $XDG_RUNTIME_DIR/USER_ROOT_DIR (rootless: never root's state; root of another user namespace,
 * as rootless podman runs its runtime, takes the user's when XDG_RUNTIME_DIR is set). */
static void resolve_root(const char *flag)
{
	char cwd[PATH_MAX], user_root[PATH_MAX];
	int n;
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	if ((!flag || !*flag) && (geteuid() != 0 || (xdg && *xdg && !in_initial_userns()))) {
		if (!xdg || !*xdg)
			die("a rootless berth keeps its state in $XDG_RUNTIME_DIR/berth: set XDG_RUNTIME_DIR, or give --root");
		if (snprintf(user_root, sizeof user_root, "%s/%s", xdg, USER_ROOT_DIR) >= (int)sizeof user_root)
			die("the state root %s/%s is too long", xdg, USER_ROOT_DIR);
		flag = user_root;
	}
	if (!flag || !*flag)
		flag = DEFAULT_ROOT;
	if (flag[0] == '/')
		n = snprintf(root, sizeof root, "%s", flag);
	else if (getcwd(cwd, sizeof cwd))
		n = snprintf(root, sizeof root, "%s/%s", cwd, flag);
	else
		die("cannot resolve --root %s: %s", flag, strerror(errno));
	if (n >= (int)sizeof root)
		die("the state root %s is too long", flag);
}

int main(int argc, char **argv)
{
	const char *root_flag = NULL, *cmd, *ns = getenv("BERTH_NO_SERVER");
	char launch[PATH_MAX + 32];
	int no_server = 0;
	ssize_t n;

	signal(SIGCHLD, SIG_DFL); /* SIG_IGN from a caller would reap our children for us */
	if ((n = readlink("/proc/self/exe", proj, sizeof proj - 1)) < 0)
		die("cannot read /proc/self/exe: %s", strerror(errno));
	proj[n] = 0;
	if ((size_t)n < strlen(SUFFIX) || strcmp(proj + n - strlen(SUFFIX), SUFFIX))
		die("%s is not <project>" SUFFIX, proj);
	proj[n - strlen(SUFFIX)] = 0;

	cmd = scan_flags(argc, argv, &root_flag, &no_server);
	/* spec, statechart, features, --version and --help read no state: a server started for them would only outlive them */
	int stateless = !cmd || !strcmp(cmd, "spec") || !strcmp(cmd, "statechart") || !strcmp(cmd, "features");
	if (no_server || (ns && *ns && strcmp(ns, "0")) || (cmd && !strcmp(cmd, "server")) || stateless) {
		char **a = calloc(argc + 2, sizeof *a);
		if (!a)
			die("out of memory");
		snprintf(launch, sizeof launch, "%s/build/bundle/launch.cjs", proj);
		a[0] = NODE_PATH;
		a[1] = launch;
		memcpy(a + 2, argv + 1, (argc - 1) * sizeof *a);
		unsetenv("NODE_EXTRA_CA_CERTS"); /* ~40 ms per Node start, and Node does no TLS here */
		exec_node(a, environ);
		die("cannot run node: %s", strerror(errno));
	}

	signal(SIGPIPE, SIG_IGN);
	for (int fd = 0; fd < 3; fd++)
		if (fcntl(fd, F_GETFD) < 0)
			std_closed[fd] = open("/dev/null", O_RDWR) == fd; /* so that none of ours takes its number */
	close_range(3, ~0U, CLOSE_RANGE_CLOEXEC); /* inherited fds reach a child only when the server names them */
	resolve_root(root_flag);
	/* One server per root and user namespace: inside another (rootless podman's) a server of its own
	 * (server.ts names the same folder). */
	struct stat userns;
	if (in_initial_userns() || stat("/proc/self/ns/user", &userns) < 0)
		snprintf(sdir, sizeof sdir, "%s/%s", root, SERVER_DIR);
	else
		if (snprintf(sdir, sizeof sdir, "%s/%s-userns-%lu", root, SERVER_DIR, (unsigned long)userns.st_ino) >= (int)sizeof sdir)
			die("the state root %s is too long", root);

	sigemptyset(&handled_set);
	for (size_t i = 0; i < sizeof handled / sizeof *handled; i++) {
		struct sigaction sa;
		/* one our caller ignores (nohup, a shell's background job) stays ignored: not acted on, not forwarded */
		if (sigaction(handled[i], NULL, &sa) == 0 && sa.sa_handler == SIG_IGN && handled[i] != SIGWINCH)
			continue;
		sigaddset(&handled_set, handled[i]);
	}
	sigprocmask(SIG_BLOCK, &handled_set, NULL);
	if ((sigfd = signalfd(-1, &handled_set, SFD_CLOEXEC | SFD_NONBLOCK)) < 0)
		die("signalfd: %s", strerror(errno));

	/* A connection that ends before ACCEPTED was never handled: start over (3 times at most). */
	for (int tries = 0;; tries++) {
		connect_server();
		send_call(argc, argv);
		serve();
		if (accepted)
			die("the berth server ended before the call did (its log: %s/log)", sdir);
		close(sock);
		if (server_pidfd >= 0)
			close(server_pidfd);
		in.n = 0;
		if (tries == 3)
			die("the berth server closed the connection before taking the call, 4 times (its log: %s/log)", sdir);
	}
}
