/*
 * berth-init: the process that stands inside the container between fork and exec.
 *
 * It reads a plan (native/plan.ts) from the sync socket and executes its steps in order.
 * It decides nothing: every path, flag and order comes from the plan. A failing step is
 * reported to the parent as (step index, errno) and the process exits.
 *
 * usage: berth-init SYNC_FD [DIE_AT]  (DIE_AT: the tests' fault point, a step index to die at)
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <linux/filter.h>
#include <linux/openat2.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/statfs.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <linux/capability.h>
#include <net/if.h>
#include <termios.h>
#include <unistd.h>

#include "plan_ops.h"

#ifndef OPEN_TREE_CLONE
#define OPEN_TREE_CLONE 1
#define OPEN_TREE_CLOEXEC O_CLOEXEC
#endif
#ifndef MOVE_MOUNT_F_EMPTY_PATH
#define MOVE_MOUNT_F_EMPTY_PATH 0x00000004
#define MOVE_MOUNT_T_EMPTY_PATH 0x00000040
#endif

struct arg {
	uint32_t type;
	uint32_t len;
	const char *data;
};

struct step {
	uint32_t op;
	uint32_t argc;
	struct arg *args;
};

static int sync_fd = -1;
static int slots[SLOT_COUNT];
static char resolved[PATH_MAX];
static int current_step = -1;
static int ready_sent;

static void send_msg(int32_t kind, int32_t step, int32_t err, int32_t value)
{
	int32_t m[4] = { kind, step, err, value };
	/* The parent may be gone after READY: never die of SIGPIPE for it. */
	(void)send(sync_fd, m, sizeof m, MSG_NOSIGNAL);
}

static void fail(int err)
{
	send_msg(MSG_ERROR, current_step, err, 0);
	_exit(127);
}

static int read_full(int fd, void *buf, size_t n)
{
	char *p = buf;
	while (n > 0) {
		ssize_t r = read(fd, p, n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

/* The parent's ack of a message: 0, or the errno the step fails with. */
static int read_ack(void)
{
	int32_t ack;
	if (read_full(sync_fd, &ack, sizeof ack) < 0)
		_exit(127); /* the parent is gone: nobody wants this container any more */
	return ack ? (errno = ack, -1) : 0;
}

static const char *str(struct step *s, uint32_t i)
{
	return s->args[i].len > 1 ? s->args[i].data : NULL;
}

static const char *str_or_empty(struct step *s, uint32_t i)
{
	return s->args[i].data;
}

static int64_t num(struct step *s, uint32_t i)
{
	int64_t v;
	memcpy(&v, s->args[i].data, sizeof v);
	return v;
}

static int openat2_in_root(const char *path, uint64_t flags)
{
	struct open_how how = {
		.flags = flags | O_CLOEXEC,
		.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
	};
	return (int)syscall(SYS_openat2, slots[SLOT_ROOT], path, &how, sizeof how);
}

/*
 * Open PATH inside the root slot without ever leaving it, creating what is missing. A missing
 * component is made with mkdirat in its parent, which is opened (and made) the same way, so the
 * walk costs one lookup for a path that exists and goes back only as far as the deepest ancestor
 * that does. A symlink met on the way is followed as if the root were "/". A component that exists
 * but does not resolve is a dangling symlink: what it points at is made instead, inside the root,
 * and the walk goes on there. PATH is normalised by the plan (no "." or ".." components).
 */
/* PATH's parent folder into DIR (PATH_MAX) and its last component into NAME (NAME_MAX + 1). */
static int split_parent(const char *path, char *dir, char *name)
{
	if (strlen(path) >= PATH_MAX)
		return errno = ENAMETOOLONG, -1;
	strcpy(dir, path);
	size_t len = strlen(dir);
	while (len > 1 && dir[len - 1] == '/')
		dir[--len] = '\0';
	char *slash = strrchr(dir, '/');
	const char *last = slash ? slash + 1 : dir;
	if (!*last)
		return errno = ENOENT, -1; /* the root: it has no parent */
	if (strlen(last) > NAME_MAX)
		return errno = ENAMETOOLONG, -1;
	strcpy(name, last);
	if (!slash)
		strcpy(dir, "/");
	else
		slash[slash == dir] = '\0'; /* "/a" keeps "/", "/a/b" becomes "/a" */
	return 0;
}

static int open_in_root_at_depth(const char *path, int resolve, mode_t mode, int depth)
{
	int fd = openat2_in_root(path, O_PATH);
	if (fd >= 0 || errno != ENOENT || resolve == RESOLVE_EXISTING)
		return fd;
	if (depth > 40)
		return errno = ELOOP, -1;

	char dir[PATH_MAX], namebuf[NAME_MAX + 1];
	if (split_parent(path, dir, namebuf) < 0)
		return -1;
	int parent = open_in_root_at_depth(dir, RESOLVE_DIR, 0755, depth + 1);
	if (parent < 0)
		return -1;
	if (!strcmp(namebuf, ".") || !strcmp(namebuf, "..")) { /* from a symlink's target: the parent made is enough */
		close(parent);
		return openat2_in_root(path, O_PATH);
	}
	int r;
	if (resolve == RESOLVE_FILE) {
		r = openat(parent, namebuf, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0644);
		if (r >= 0)
			close(r);
	} else {
		r = mkdirat(parent, namebuf, mode);
	}
	if (r < 0 && errno == EEXIST) {
		char target[PATH_MAX], next[PATH_MAX];
		ssize_t n = readlinkat(parent, namebuf, target, sizeof target - 1);
		close(parent);
		if (n < 0)
			return -1;
		target[n] = '\0';
		int absolute = target[0] == '/';
		if (snprintf(next, sizeof next, "%s%s%s", absolute ? "" : dir, absolute || !strcmp(dir, "/") ? "" : "/", target) >= (int)sizeof next)
			return errno = ENAMETOOLONG, -1;
		return open_in_root_at_depth(next, resolve, mode, depth + 1);
	}
	int err = errno;
	close(parent);
	if (r < 0)
		return errno = err, -1;
	return openat2_in_root(path, O_PATH);
}

static int open_in_root(const char *path, int resolve, mode_t mode)
{
	return open_in_root_at_depth(path, resolve, mode, 0);
}

/* The parent directory of PATH inside the root (created), and its last component. */
static int open_parent_in_root(const char *path, const char **name)
{
	static char dir[PATH_MAX], last[NAME_MAX + 1];
	if (split_parent(path, dir, last) < 0)
		return -1;
	*name = last;
	return open_in_root(dir, RESOLVE_DIR, 0755);
}

static void fd_path(char *out, size_t n, int fd)
{
	snprintf(out, n, "/proc/self/fd/%d", fd);
}

static int do_mount(struct step *s)
{
	const char *source = str(s, 0), *target = str_or_empty(s, 1), *fstype = str(s, 2), *data = str(s, 4);
	unsigned long flags = (unsigned long)num(s, 3);
	int resolve = (int)num(s, 5);
	if (resolve == RESOLVE_ABSOLUTE)
		return mount(source, target, fstype, flags, data);
	int fd = open_in_root(target, resolve, 0755);
	if (fd < 0)
		return -1;
	char p[64];
	fd_path(p, sizeof p, fd);
	int r = mount(source, p, fstype, flags, data);
	int err = errno;
	close(fd);
	return errno = err, r;
}

/*
 * Copy the tree under directory fd FROM into directory fd TO: directories, files, symlinks and
 * special files with their modes, owners and times, nothing followed (a symlink is copied as one).
 * Both fds are consumed.
 */
static int copy_tree(int from, int to)
{
	DIR *d = fdopendir(from);
	if (!d) {
		int err = errno;
		close(from);
		close(to);
		return errno = err, -1;
	}
	int r = 0;
	struct dirent *e;
	while (r == 0 && (errno = 0, e = readdir(d))) {
		const char *n = e->d_name;
		if (!strcmp(n, ".") || !strcmp(n, ".."))
			continue;
		struct stat st;
		if ((r = fstatat(from, n, &st, AT_SYMLINK_NOFOLLOW)) < 0)
			break;
		mode_t perm = st.st_mode & 07777;
		if (S_ISDIR(st.st_mode)) {
			int sub_from = openat(from, n, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (sub_from < 0 || mkdirat(to, n, 0700) < 0) {
				r = -1;
				if (sub_from >= 0)
					close(sub_from);
				break;
			}
			int sub_to = openat(to, n, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			r = sub_to < 0 ? (close(sub_from), -1) : copy_tree(sub_from, sub_to);
		} else if (S_ISREG(st.st_mode)) {
			int in = openat(from, n, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
			int out = in < 0 ? -1 : openat(to, n, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
			char buf[65536];
			ssize_t k = out < 0 ? -1 : 0;
			while (k >= 0 && (k = read(in, buf, sizeof buf)) > 0)
				if (write(out, buf, (size_t)k) != k)
					k = -1;
			r = k < 0 ? -1 : 0;
			int err = errno;
			if (in >= 0)
				close(in);
			if (out >= 0)
				close(out);
			errno = err;
		} else if (S_ISLNK(st.st_mode)) {
			char target[PATH_MAX];
			ssize_t k = readlinkat(from, n, target, sizeof target - 1);
			r = k < 0 ? -1 : (target[k] = '\0', symlinkat(target, to, n));
		} else {
			r = mknodat(to, n, st.st_mode, st.st_rdev);
		}
		if (r == 0)
			r = fchownat(to, n, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW);
		if (r == 0 && !S_ISLNK(st.st_mode))
			r = fchmodat(to, n, perm, 0);
		if (r == 0) {
			struct timespec times[2] = { st.st_atim, st.st_mtim };
			r = utimensat(to, n, times, AT_SYMLINK_NOFOLLOW);
		}
	}
	if (r == 0 && errno != 0)
		r = -1;
	int err = errno;
	closedir(d);
	close(to);
	return errno = err, r;
}

/* MOUNT, then copy what the mount hides into it (runc's and crun's tmpcopyup). */
static int do_mount_copyup(struct step *s)
{
	const char *target = str_or_empty(s, 1);
	int fd = open_in_root(target, (int)num(s, 5), 0755);
	if (fd < 0)
		return -1;
	int under = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int err = errno;
	close(fd);
	if (under < 0)
		return errno = err, -1;
	if (do_mount(s) < 0) {
		err = errno;
		close(under);
		return errno = err, -1;
	}
	int top = openat2_in_root(target, O_RDONLY | O_DIRECTORY);
	if (top < 0) {
		err = errno;
		close(under);
		return errno = err, -1;
	}
	return copy_tree(under, top);
}

/* mount_setattr(2) on the mount at PATH: (path, resolve, attr_set, attr_clr, recursive). */
static int do_mount_setattr(struct step *s)
{
	int fd = open_in_root(str_or_empty(s, 0), (int)num(s, 1), 0755);
	if (fd < 0)
		return -1;
	struct {
		uint64_t attr_set, attr_clr, propagation, userns_fd;
	} attr = { (uint64_t)num(s, 2), (uint64_t)num(s, 3), 0, 0 };
	int r = (int)syscall(SYS_mount_setattr, fd, "", AT_EMPTY_PATH | (num(s, 4) ? AT_RECURSIVE : 0), &attr, sizeof attr);
	int err = errno;
	close(fd);
	return errno = err, r;
}

static int do_mknod(struct step *s)
{
	const char *name;
	int dir = open_parent_in_root(str_or_empty(s, 0), &name);
	if (dir < 0)
		return -1;
	int r = mknodat(dir, name, (mode_t)num(s, 1), makedev(num(s, 2), num(s, 3)));
	if (r < 0 && errno == EEXIST)
		r = 0;
	else if (r == 0)
		r = fchownat(dir, name, (uid_t)num(s, 4), (gid_t)num(s, 5), AT_SYMLINK_NOFOLLOW);
	int err = errno;
	close(dir);
	return errno = err, r;
}

static int do_symlink(struct step *s)
{
	const char *name;
	int dir = open_parent_in_root(str_or_empty(s, 1), &name);
	if (dir < 0)
		return -1;
	int r = symlinkat(str_or_empty(s, 0), dir, name);
	if (r < 0 && errno == EEXIST)
		r = 0;
	int err = errno;
	close(dir);
	return errno = err, r;
}

static int do_mkdir(struct step *s)
{
	int fd = open_in_root(str_or_empty(s, 0), RESOLVE_DIR, (mode_t)num(s, 1));
	if (fd < 0)
		return -1;
	close(fd);
	return 0;
}

static int reopen_root(void)
{
	close(slots[SLOT_ROOT]);
	slots[SLOT_ROOT] = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	return slots[SLOT_ROOT] < 0 ? -1 : 0;
}

static int do_pivot_root(void)
{
	/*
	 * The old root is stacked on the new one by pivot_root(".", "."). mount(2) on "." means the
	 * mount the cwd is on, not the one stacked over it: made a slave through an fd of the old root,
	 * only the old root is, so its detach never reaches the host and the container's own mounts
	 * keep their propagation (an rshared bind stays the host's peer).
	 */
	int old_root = open("/", O_DIRECTORY | O_RDONLY | O_CLOEXEC);
	if (old_root < 0)
		return -1;
	int r = -1;
	if (fchdir(slots[SLOT_ROOT]) == 0 && syscall(SYS_pivot_root, ".", ".") == 0 && fchdir(old_root) == 0 &&
	    mount(NULL, ".", NULL, MS_SLAVE | MS_REC, NULL) == 0 && umount2(".", MNT_DETACH) == 0 && chdir("/") == 0)
		r = 0;
	int err = errno;
	close(old_root);
	if (r < 0)
		return errno = err, -1;
	return reopen_root();
}

static int do_move_root(void)
{
	if (fchdir(slots[SLOT_ROOT]) < 0)
		return -1;
	if (mount(".", "/", NULL, MS_MOVE, NULL) < 0)
		return -1;
	if (chroot(".") < 0 || chdir("/") < 0)
		return -1;
	return reopen_root();
}

static int do_chroot(void)
{
	if (fchdir(slots[SLOT_ROOT]) < 0 || chroot(".") < 0 || chdir("/") < 0)
		return -1;
	return reopen_root();
}

/* The mount PATH lives on: walk up until mount(2) accepts the path as a mount point. */
static int do_propagate_parent(struct step *s)
{
	char path[PATH_MAX];
	unsigned long flags = (unsigned long)num(s, 1);
	if (snprintf(path, sizeof path, "%s", str_or_empty(s, 0)) >= (int)sizeof path)
		return errno = ENAMETOOLONG, -1;
	for (;;) {
		if (mount(NULL, path, NULL, flags, NULL) == 0)
			return 0;
		if (errno != EINVAL || strcmp(path, "/") == 0)
			return -1;
		char *slash = strrchr(path, '/');
		if (slash == path)
			path[1] = '\0';
		else
			*slash = '\0';
	}
}

/* Flags a bind remount must keep: the kernel refuses to clear locked ones. */
static unsigned long mount_flags_of(const char *path)
{
	struct statfs st;
	if (statfs(path, &st) < 0)
		return 0;
	return (unsigned long)st.f_flags & (MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_NOATIME | MS_NODIRATIME | MS_RELATIME);
}

/* True when FD is the character device MAJOR:MINOR (the rootfs may put anything at a device's path). */
static int is_char_device(int fd, unsigned major, unsigned minor)
{
	struct stat st;
	return fstat(fd, &st) == 0 && S_ISCHR(st.st_mode) && st.st_rdev == makedev(major, minor);
}

/*
 * What a mask binds: the container's own /dev/null when it is the null device reached without a
 * symlink (CRIU knows its mount), else the kept clone of the host's.
 */
static int null_source(void)
{
	struct open_how how = { .flags = O_PATH | O_CLOEXEC, .resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS };
	int fd = (int)syscall(SYS_openat2, AT_FDCWD, "/dev/null", &how, sizeof how);
	if (fd >= 0 && is_char_device(fd, 1, 3))
		return fd;
	if (fd >= 0)
		close(fd);
	return slots[SLOT_NULL];
}

/*
 * Keep a detached bind of the host's /dev/null (a clone, made while / is still the host's), checked
 * to be the 1:3 character device. A mask never binds a path of the rootfs unchecked: its /dev/null
 * could be a symlink to a procfs file (runc's CVE-2025-31133 class).
 */
static int do_keep_null(struct step *s)
{
	int tree = (int)syscall(SYS_open_tree, AT_FDCWD, "/dev/null", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
	if (tree < 0)
		return -1;
	if (!is_char_device(tree, 1, 3)) {
		close(tree);
		return errno = ENODEV, -1;
	}
	slots[num(s, 0)] = tree;
	return 0;
}

static int do_mask(struct step *s)
{
	int fd = open_in_root(str_or_empty(s, 0), RESOLVE_EXISTING, 0);
	if (fd < 0)
		return errno == ENOENT ? 0 : -1;
	struct stat st;
	char p[64];
	fd_path(p, sizeof p, fd);
	int r = fstat(fd, &st);
	if (r == 0 && S_ISDIR(st.st_mode)) {
		r = mount("tmpfs", p, "tmpfs", MS_RDONLY, "size=0k,mode=000");
	} else if (r == 0) {
		int source = null_source();
		int null = source < 0 ? -1 : (int)syscall(SYS_open_tree, source, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH);
		if (source >= 0 && source != slots[SLOT_NULL])
			close(source);
		r = null < 0 ? -1 : (int)syscall(SYS_move_mount, null, "", fd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH);
		int err = errno;
		if (null >= 0)
			close(null);
		errno = err;
	}
	int err = errno;
	close(fd);
	return errno = err, r;
}

static int remount_ro(const char *p)
{
	return mount(NULL, p, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | mount_flags_of(p), NULL);
}

static int do_remount_ro(struct step *s)
{
	if (num(s, 1) == RESOLVE_ABSOLUTE)
		return remount_ro(str_or_empty(s, 0));
	int fd = open_in_root(str_or_empty(s, 0), RESOLVE_EXISTING, 0);
	if (fd < 0)
		return -1;
	char p[64];
	fd_path(p, sizeof p, fd);
	int r = remount_ro(p);
	int err = errno;
	close(fd);
	return errno = err, r;
}

static int do_readonly(struct step *s)
{
	int fd = open_in_root(str_or_empty(s, 0), RESOLVE_EXISTING, 0);
	if (fd < 0)
		return errno == ENOENT ? 0 : -1;
	char p[64];
	fd_path(p, sizeof p, fd);
	int r = mount(p, p, NULL, MS_BIND | MS_REC, NULL);
	int err = errno;
	close(fd);
	if (r < 0)
		return errno = err, -1;
	/* Re-resolve: the fd names the mount underneath, the remount is for the new one on top. */
	fd = open_in_root(str_or_empty(s, 0), RESOLVE_EXISTING, 0);
	if (fd < 0)
		return -1;
	fd_path(p, sizeof p, fd);
	r = remount_ro(p);
	err = errno;
	close(fd);
	return errno = err, r;
}

/* Send FD over the unix socket SOCK (SCM_RIGHTS) with LEN bytes of DATA, in one sendmsg. */
static int send_fd(int sock, int fd, const void *data, size_t len)
{
	char cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { .iov_base = (void *)data, .iov_len = len };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof cbuf };
	memset(cbuf, 0, sizeof cbuf);
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	return sendmsg(sock, &msg, MSG_NOSIGNAL) < 0 ? -1 : 0;
}

/*
 * Bind the pty SLAVE over /dev/console (made earlier by a MOUNTPOINT step), by fds: the target is
 * reached without a symlink and must be a file or a character device, so a rootfs cannot aim the
 * bind at a procfs file or anywhere else (the class of runc's CVE-2025-52565).
 */
static int bind_console(int slave)
{
	struct open_how how = { .flags = O_PATH | O_CLOEXEC, .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS };
	int target = (int)syscall(SYS_openat2, slots[SLOT_ROOT], "dev/console", &how, sizeof how);
	if (target < 0)
		return -1;
	struct stat st;
	int tree = -1, r = -1;
	if (fstat(target, &st) < 0)
		goto out;
	if (!S_ISREG(st.st_mode) && !S_ISCHR(st.st_mode)) {
		errno = ENOTTY;
		goto out;
	}
	tree = (int)syscall(SYS_open_tree, slave, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH);
	if (tree >= 0)
		r = (int)syscall(SYS_move_mount, tree, "", target, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH);
out:;
	int err = errno;
	if (tree >= 0)
		close(tree);
	close(target);
	return errno = err, r;
}

/* A pty of the container's own devpts: the master goes out over the console socket, the slave
 * becomes this process's controlling terminal and its stdin, stdout and stderr, and for the
 * container's own process its /dev/console. */
static int do_terminal(struct step *s)
{
	int console = (int)num(s, 0);
	struct winsize ws = { .ws_row = (unsigned short)num(s, 1), .ws_col = (unsigned short)num(s, 2) };
	int master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (master < 0)
		return -1;
	int unlock = 0, n = -1, slave = -1, r = -1;
	char name[32];
	/* The rootfs's /dev/ptmx may be a symlink to anything: only the pty multiplexer (5:2) is used. */
	if (!is_char_device(master, 5, 2)) {
		errno = ENOTTY;
		goto out;
	}
	if (ioctl(master, TIOCSPTLCK, &unlock) < 0 || ioctl(master, TIOCGPTN, &n) < 0)
		goto out;
	snprintf(name, sizeof name, "/dev/pts/%d", n);
	slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (slave < 0 || fchown(slave, (uid_t)num(s, 3), (gid_t)num(s, 4)) < 0)
		goto out;
	if ((ws.ws_row || ws.ws_col) && ioctl(slave, TIOCSWINSZ, &ws) < 0)
		goto out;
	if (num(s, 5) && bind_console(slave) < 0)
		goto out;
	/* The pty's name as the data, as runc sends a console. */
	if (send_fd(console, master, name, strlen(name)) < 0 || ioctl(slave, TIOCSCTTY, 0) < 0)
		goto out;
	if (dup2(slave, 0) < 0 || dup2(slave, 1) < 0 || dup2(slave, 2) < 0)
		goto out;
	r = 0;
out:;
	int err = errno;
	close(master);
	if (slave > 2)
		close(slave);
	close(console);
	return errno = err, r;
}

static int do_bounding(struct step *s)
{
	uint64_t keep = (uint64_t)num(s, 0);
	int last = (int)num(s, 1);
	for (int cap = 0; cap <= last; cap++)
		if (!(keep & (1ull << cap)) && prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0)
			return -1;
	return 0;
}

static int do_capset(struct step *s)
{
	struct __user_cap_header_struct head = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
	struct __user_cap_data_struct data[2];
	uint64_t eff = (uint64_t)num(s, 0), perm = (uint64_t)num(s, 1), inh = (uint64_t)num(s, 2);
	for (int i = 0; i < 2; i++) {
		data[i].effective = (uint32_t)(eff >> (32 * i));
		data[i].permitted = (uint32_t)(perm >> (32 * i));
		data[i].inheritable = (uint32_t)(inh >> (32 * i));
	}
	return (int)syscall(SYS_capset, &head, data);
}

static int do_ambient(struct step *s)
{
	uint64_t raise = (uint64_t)num(s, 0);
	int last = (int)num(s, 1);
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0)
		return -1;
	for (int cap = 0; cap <= last; cap++)
		if ((raise & (1ull << cap)) && prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0) < 0)
			return -1;
	return 0;
}

#define PROC_SUPER_MAGIC 0x9fa0

/*
 * A write meant for procfs (a sysctl, oom_score_adj, an LSM attr) lands in a procfs or nowhere: the
 * path is resolved from /proc, checked to be a procfs mount, without leaving it, crossing a mount
 * or following a magic link. A rootfs or config that puts something else at /proc, or over one of
 * its files, gets an error, never the write (the class of runc's CVE-2025-52881). Plain symlinks
 * inside procfs (self, thread-self) are followed: they stay in it.
 */
static int open_proc_file(const char *path)
{
	struct open_how at_proc = { .flags = O_PATH | O_DIRECTORY | O_CLOEXEC, .resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS };
	int proc = (int)syscall(SYS_openat2, AT_FDCWD, "/proc", &at_proc, sizeof at_proc);
	if (proc < 0)
		return -1;
	struct statfs st;
	if (fstatfs(proc, &st) < 0 || st.f_type != PROC_SUPER_MAGIC) {
		close(proc);
		errno = EXDEV;
		return -1;
	}
	struct open_how in_proc = { .flags = O_WRONLY | O_CLOEXEC, .resolve = RESOLVE_BENEATH | RESOLVE_NO_XDEV | RESOLVE_NO_MAGICLINKS };
	int fd = (int)syscall(SYS_openat2, proc, path + strlen("/proc/"), &in_proc, sizeof in_proc);
	int err = errno;
	close(proc);
	errno = err;
	return fd;
}

static int do_write_file(struct step *s)
{
	const char *path = str_or_empty(s, 0);
	int fd = strncmp(path, "/proc/", 6) ? open(path, O_WRONLY | O_CLOEXEC) : open_proc_file(path);
	if (fd < 0)
		return -1;
	const char *data = str_or_empty(s, 1);
	size_t n = s->args[1].len - 1;
	ssize_t w = write(fd, data, n);
	int err = errno;
	close(fd);
	if (w >= 0 && (size_t)w != n)
		err = EIO;
	return w >= 0 && (size_t)w == n ? 0 : (errno = err, -1);
}

/* sched_setattr(2)'s argument; glibc has no wrapper. */
struct berth_sched_attr {
	uint32_t size, sched_policy;
	uint64_t sched_flags;
	int32_t sched_nice;
	uint32_t sched_priority;
	uint64_t sched_runtime, sched_deadline, sched_period;
};

static int do_scheduler(struct step *s)
{
	struct berth_sched_attr attr = {
		.size = sizeof attr,
		.sched_policy = (uint32_t)num(s, 0),
		.sched_flags = (uint64_t)num(s, 1),
		.sched_nice = (int32_t)num(s, 2),
		.sched_priority = (uint32_t)num(s, 3),
		.sched_runtime = (uint64_t)num(s, 4),
		.sched_deadline = (uint64_t)num(s, 5),
		.sched_period = (uint64_t)num(s, 6),
	};
	return (int)syscall(SYS_sched_setattr, 0, &attr, 0);
}

static int do_affinity(struct step *s)
{
	return sched_setaffinity(0, s->args[0].len, (const cpu_set_t *)s->args[0].data);
}

/* set_mempolicy takes maxnode one above the mask's bits (it drops the last). */
static int do_mempolicy(struct step *s)
{
	return (int)syscall(SYS_set_mempolicy, (int)num(s, 0), s->args[1].data, s->args[1].len * 8 + 1);
}

/* True when this user namespace was made with setgroups denied (a user's berth maps its own gid so). */
static int setgroups_denied(void)
{
	char buf[8] = { 0 };
	int fd = open("/proc/self/setgroups", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, buf, sizeof buf - 1);
	close(fd);
	return n > 0 && !strncmp(buf, "deny", 4);
}

static int do_setgroups(struct step *s)
{
	gid_t gids[NGROUPS_MAX];
	size_t n = s->argc < NGROUPS_MAX ? s->argc : NGROUPS_MAX;
	for (size_t i = 0; i < n; i++)
		gids[i] = (gid_t)num(s, (uint32_t)i);
	int r = setgroups(n, gids);
	/* No additional groups asked for, where none can be set: what the user's namespace allows, as runc does. */
	if (r < 0 && errno == EPERM && n == 0 && setgroups_denied())
		return 0;
	return r;
}

static int executable(const char *path)
{
	struct stat st;
	if (stat(path, &st) < 0)
		return -1;
	if (!S_ISREG(st.st_mode))
		return errno = EACCES, -1;
	return access(path, X_OK);
}

/* Find the program the way execvp would, but with the container's PATH, not ours. */
static int do_lookup(struct step *s)
{
	const char *file = str_or_empty(s, 0), *search = str_or_empty(s, 1);
	if (strchr(file, '/')) {
		if (snprintf(resolved, sizeof resolved, "%s", file) >= (int)sizeof resolved)
			return errno = ENAMETOOLONG, -1;
		return executable(resolved);
	}
	int err = ENOENT;
	for (const char *p = search;; p++) {
		const char *end = strchrnul(p, ':');
		int n = (int)(end - p);
		snprintf(resolved, sizeof resolved, "%.*s%s%s", n, p, n ? "/" : "", file);
		if (executable(resolved) == 0)
			return 0;
		if (errno == EACCES)
			err = EACCES;
		if (!*end)
			break;
		p = end;
	}
	resolved[0] = '\0';
	return errno = err, -1;
}

/* No allocation here: with a seccomp filter loaded, execve should be the only syscall left. */
static int do_exec(struct step *s)
{
	uint32_t argc = (uint32_t)num(s, 0);
	if (argc + 1 > s->argc)
		return errno = EINVAL, -1;
	char *argv[argc + 1];
	char *envp[s->argc - argc];
	for (uint32_t i = 0; i < argc; i++)
		argv[i] = (char *)str_or_empty(s, 1 + i);
	argv[argc] = NULL;
	for (uint32_t i = 1 + argc; i < s->argc; i++)
		envp[i - 1 - argc] = (char *)str_or_empty(s, i);
	envp[s->argc - argc - 1] = NULL;
	execve(resolved, argv, envp);
	return -1;
}

static int do_barrier(struct step *s)
{
	int fd = slots[num(s, 0)];
	char c;
	ssize_t r;
	do
		r = read(fd, &c, 1);
	while (r < 0 && errno == EINTR);
	close(fd);
	slots[num(s, 0)] = -1;
	return r == 1 ? 0 : (errno = r == 0 ? EPIPE : errno, -1);
}

/*
 * The filter's bytes are copied out of the plan, where a struct sock_filter[] may sit unaligned.
 * The copy is not freed: free may call brk, and after the filter only execve should run.
 *
 * A filter with a listener (SCMP_ACT_NOTIFY) hands it to the parent, which has stopped reading the
 * socket for it (a SYNC_SECCOMP_LISTENER step came first) and passes it on to the seccomp agent.
 * That sendmsg is the one syscall under the filter before the agent can answer (the compiler
 * refuses NOTIFY for it); the close and the read of the ack that follow may be the agent's to answer.
 */
static int do_seccomp(struct step *s)
{
	size_t size = s->args[1].len, n = size / sizeof(struct sock_filter);
	unsigned flags = (unsigned)num(s, 0);
	if (size % sizeof(struct sock_filter) || n > USHRT_MAX)
		return errno = EINVAL, -1;
	struct sock_filter *filter = malloc(size);
	if (!filter)
		return errno = ENOMEM, -1;
	memcpy(filter, s->args[1].data, size);
	struct sock_fprog prog = { .len = (unsigned short)n, .filter = filter };
	int listener = (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &prog);
	if (listener < 0 || !(flags & SECCOMP_FILTER_FLAG_NEW_LISTENER))
		return listener < 0 ? -1 : 0;
	int32_t m[4] = { MSG_LISTENER, current_step, 0, 0 };
	int r = send_fd(sync_fd, listener, m, sizeof m);
	int err = errno;
	close(listener);
	return r < 0 ? (errno = err, -1) : read_ack();
}

/* One fd the parent sent behind the byte 1 (MSG_CMSG_CLOEXEC), or -1 for the byte 0 alone: no more. */
static int receive_fd(void)
{
	char byte = 0;
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} control;
	struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf, .msg_controllen = sizeof control.buf };
	if (recvmsg(sync_fd, &msg, MSG_CMSG_CLOEXEC) <= 0)
		_exit(127); /* the parent is gone */
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
	if (byte != 1 || !c || c->cmsg_type != SCM_RIGHTS)
		return -1;
	int fd;
	memcpy(&fd, CMSG_DATA(c), sizeof fd);
	return fd;
}

/* Who started berth-init: a user's (rootless) berth writes the id maps itself, which the kernel
 * allows only while this process is dumpable (its /proc files are then the user's). */
static uid_t started_by;

static int do_sync(struct step *s)
{
	int maps_by_user = num(s, 0) == SYNC_ID_MAPS && started_by != 0;
	if (maps_by_user && prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) < 0)
		return -1;
	send_msg(MSG_SYNC, current_step, 0, (int32_t)num(s, 0));
	/* The idmapped binds come before the ack, one message each (the parent stops early on failure). */
	if (num(s, 0) == SYNC_IDMAPPED_MOUNTS)
		for (int64_t i = 0; i < num(s, 1) && i < SLOT_COUNT - SLOT_IDMAPPED; i++)
			if ((slots[SLOT_IDMAPPED + i] = receive_fd()) < 0)
				break;
	int r = read_ack();
	if (maps_by_user && prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		return -1;
	return r;
}

/* Attach the detached mount in a slot at PATH inside the root (made as MOUNT would), by fds. */
static int do_move_mount(struct step *s)
{
	int slot = (int)num(s, 0);
	int fd = open_in_root(str_or_empty(s, 1), (int)num(s, 2), 0755);
	if (fd < 0)
		return -1;
	int r = (int)syscall(SYS_move_mount, slots[slot], "", fd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH);
	int err = errno;
	close(fd);
	close(slots[slot]);
	slots[slot] = -1;
	return errno = err, r;
}

static int do_fork(void)
{
	/* The child goes on once the parent has reported its pid (the pipe's end closes when the parent
	 * exits): berth must know the pid before anything the child sends, READY included. Without
	 * it, a parent descheduled after clone on a busy host let READY arrive first. */
	int order[2];
	if (pipe2(order, O_CLOEXEC) < 0)
		return -1;
	/* CLONE_PARENT: the container's process becomes a child of berth, which can reap it. */
	pid_t pid = (pid_t)syscall(SYS_clone, CLONE_PARENT | SIGCHLD, 0, NULL, NULL, 0);
	if (pid < 0)
		return -1;
	if (pid > 0) {
		send_msg(MSG_PID, current_step, 0, pid);
		_exit(0);
	}
	char c;
	close(order[1]);
	while (read(order[0], &c, 1) < 0 && errno == EINTR)
		;
	close(order[0]);
	/* A session of its own, as runc's and crun's: the session leader is then inside the container
	 * (stage 1, outside its pid namespace, exits), which CRIU requires to checkpoint it. */
	return setsid() < 0 ? -1 : 0;
}

/* A new network namespace has lo, down: brought up as runc and crun do, so localhost works. */
static int loopback_up(void)
{
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	struct ifreq ifr;
	memset(&ifr, 0, sizeof(ifr));
	strcpy(ifr.ifr_name, "lo");
	int r = ioctl(fd, SIOCGIFFLAGS, &ifr);
	if (r == 0) {
		ifr.ifr_flags |= IFF_UP;
		r = ioctl(fd, SIOCSIFFLAGS, &ifr);
	}
	int err = errno;
	close(fd);
	return errno = err, r;
}

static int run(struct step *s)
{
	switch (s->op) {
	case OP_SYNC:
		return do_sync(s);
	case OP_OPEN: {
		int fd = open(str_or_empty(s, 1), (int)num(s, 2) | O_CLOEXEC);
		if (fd < 0)
			return -1;
		slots[num(s, 0)] = fd;
		return 0;
	}
	case OP_SETNS: {
		int fd = open(str_or_empty(s, 0), O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return -1;
		int r = setns(fd, (int)num(s, 1));
		int err = errno;
		close(fd);
		return errno = err, r;
	}
	case OP_UNSHARE:
		return unshare((int)num(s, 0));
	case OP_LOOPBACK_UP:
		return loopback_up();
	case OP_FORK:
		return do_fork();
	case OP_MOUNT:
		return do_mount(s);
	case OP_MOUNT_COPYUP:
		return do_mount_copyup(s);
	case OP_MOUNT_SETATTR:
		return do_mount_setattr(s);
	case OP_MOUNTPOINT: {
		int fd = open_in_root(str_or_empty(s, 0), (int)num(s, 1), 0755);
		return fd < 0 ? -1 : close(fd);
	}
	case OP_MKNOD:
		return do_mknod(s);
	case OP_SYMLINK:
		return do_symlink(s);
	case OP_MKDIR:
		return do_mkdir(s);
	case OP_PIVOT_ROOT:
		return do_pivot_root();
	case OP_MOVE_ROOT:
		return do_move_root();
	case OP_CHROOT:
		return do_chroot();
	case OP_PROPAGATE_PARENT:
		return do_propagate_parent(s);
	case OP_MASK:
		return do_mask(s);
	case OP_KEEP_NULL:
		return do_keep_null(s);
	case OP_SCHEDULER:
		return do_scheduler(s);
	case OP_IOPRIO:
		return (int)syscall(SYS_ioprio_set, 1 /* IOPRIO_WHO_PROCESS */, 0, (int)num(s, 0));
	case OP_PERSONALITY:
		return personality((unsigned long)num(s, 0)) < 0 ? -1 : 0;
	case OP_AFFINITY:
		return do_affinity(s);
	case OP_MEMPOLICY:
		return do_mempolicy(s);
	case OP_MOVE_MOUNT:
		return do_move_mount(s);
	case OP_READONLY:
		return do_readonly(s);
	case OP_REMOUNT_RO:
		return do_remount_ro(s);
	case OP_TERMINAL:
		return do_terminal(s);
	case OP_RLIMIT: {
		struct rlimit rl = { .rlim_cur = (rlim_t)num(s, 1), .rlim_max = (rlim_t)num(s, 2) };
		return setrlimit((int)num(s, 0), &rl);
	}
	case OP_BOUNDING:
		return do_bounding(s);
	case OP_KEEPCAPS:
		return prctl(PR_SET_KEEPCAPS, (unsigned long)num(s, 0), 0, 0, 0);
	case OP_CAPSET:
		return do_capset(s);
	case OP_AMBIENT:
		return do_ambient(s);
	case OP_NO_NEW_PRIVS:
		return prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
	case OP_SETHOSTNAME:
		return sethostname(str_or_empty(s, 0), s->args[0].len - 1);
	case OP_SETDOMAINNAME:
		return setdomainname(str_or_empty(s, 0), s->args[0].len - 1);
	case OP_WRITE_FILE:
		return do_write_file(s);
	case OP_CHDIR:
		return chdir(str_or_empty(s, 0));
	case OP_SETGROUPS:
		return do_setgroups(s);
	case OP_SETGID: {
		gid_t g = (gid_t)num(s, 0);
		return setresgid(g, g, g);
	}
	case OP_SETUID: {
		uid_t u = (uid_t)num(s, 0);
		return setresuid(u, u, u);
	}
	case OP_UMASK:
		umask((mode_t)num(s, 0));
		return 0;
	case OP_LOOKUP:
		return do_lookup(s);
	case OP_READY:
		send_msg(MSG_READY, current_step, 0, 0);
		ready_sent = 1;
		return 0;
	case OP_BARRIER:
		return do_barrier(s);
	case OP_EXEC:
		return do_exec(s);
	case OP_CLOSE_FDS:
		return (int)syscall(SYS_close_range, (unsigned)num(s, 0), ~0u, CLOSE_RANGE_CLOEXEC);
	case OP_SECCOMP:
		return do_seccomp(s);
	}
	return errno = ENOSYS, -1;
}

static struct step *parse(char *buf, uint32_t len, uint32_t count)
{
	struct step *steps = calloc(count, sizeof *steps);
	if (!steps)
		return NULL;
	uint32_t off = 12;
#define TAKE32(dst)                                          \
	do {                                                 \
		if (off + 4 > len)                           \
			return NULL;                         \
		memcpy(&(dst), buf + off, 4);                \
		off += 4;                                    \
	} while (0)
	for (uint32_t i = 0; i < count; i++) {
		TAKE32(steps[i].op);
		TAKE32(steps[i].argc);
		steps[i].args = calloc(steps[i].argc ? steps[i].argc : 1, sizeof(struct arg));
		if (!steps[i].args)
			return NULL;
		for (uint32_t a = 0; a < steps[i].argc; a++) {
			struct arg *g = &steps[i].args[a];
			TAKE32(g->type);
			TAKE32(g->len);
			if (off + g->len > len || g->len == 0)
				return NULL;
			if (g->type == ARG_STR && buf[off + g->len - 1] != '\0')
				return NULL;
			if (g->type == ARG_INT && g->len != 8)
				return NULL;
			if (g->type != ARG_STR && g->type != ARG_INT && g->type != ARG_BYTES)
				return NULL;
			g->data = buf + off;
			off += g->len;
		}
	}
#undef TAKE32
	return off == len ? steps : NULL;
}

int main(int argc, char **argv)
{
	if (argc != 2 && argc != 3) {
		fprintf(stderr, "usage: berth-init SYNC_FD [DIE_AT] (started by berth, not by hand)\n");
		return 2;
	}
	/*
	 * Non-dumpable until the program is exec'd: processes in the container cannot open this one's
	 * /proc/<pid>/exe or fds (CVE-2019-5736). berth runs it from a sealed memfd, so even a handle on
	 * the executable cannot be written through; the name below is the one it had on disk.
	 */
	started_by = getuid();
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0 || prctl(PR_SET_NAME, "berth-init", 0, 0, 0) < 0)
		return 2;
	sync_fd = atoi(argv[1]);
	if (fcntl(sync_fd, F_SETFD, FD_CLOEXEC) < 0)
		return 2;
	for (int i = 0; i < SLOT_COUNT; i++)
		slots[i] = -1;

	uint32_t head[3];
	if (read_full(sync_fd, head, sizeof head) < 0 || head[0] != PLAN_MAGIC || head[1] < 12)
		fail(EPROTO);
	char *buf = malloc(head[1]);
	if (!buf)
		fail(ENOMEM);
	memcpy(buf, head, sizeof head);
	if (read_full(sync_fd, buf + 12, head[1] - 12) < 0)
		fail(EPROTO);
	struct step *steps = parse(buf, head[1], head[2]);
	if (!steps)
		fail(EPROTO);

	long die_at = argc == 3 ? strtol(argv[2], NULL, 10) : -1;
	for (uint32_t i = 0; i < head[2]; i++) {
		current_step = (int)i;
		/* A container process dying right before this step (BERTH_INIT_DIE_AT). Not raise(SIGKILL):
		 * pid 1 of a new pid namespace ignores it from inside. */
		if ((long)i == die_at)
			_exit(128 + SIGKILL);
		if (run(&steps[i]) < 0) {
			int err = errno;
			/* After READY the parent may have left: the container's stderr is the last witness. */
			if (ready_sent)
				fprintf(stderr, "berth-init: step %u (op %u) failed: %s\n", i, steps[i].op, strerror(err));
			fail(err);
		}
	}
	/* A plan ends in EXEC, or in READY when it only acts on namespaces that exist (restore's lo). */
	if (ready_sent)
		_exit(0);
	fail(EPROTO);
}
