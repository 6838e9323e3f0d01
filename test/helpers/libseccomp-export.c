/*
 * libseccomp's BPF for a filter described on stdin, for test/seccomp.test.ts to compare with berth's.
 *
 *   default ACTION                      seccomp_init(ACTION)
 *   arch NAME                           seccomp_arch_add (x86_64, x86, x32, aarch64, ...)
 *   rule ACTION SYSCALL N [ARG OP A B]  seccomp_rule_add_array with N conditions
 *
 * ACTION, A and B are hex; OP is enum scmp_compare. A syscall name libseccomp cannot resolve is
 * skipped and reported on stdout as "unknown NAME", as runc skips it.
 *
 * usage: libseccomp-export OUT.bpf < description
 */
#include <errno.h>
#include <fcntl.h>
#include <seccomp.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int die(const char *what, const char *name, int err)
{
	fprintf(stderr, "%s %s: %s\n", what, name, strerror(-err));
	return 1;
}

int main(int argc, char **argv)
{
	char word[16], name[64];
	unsigned int action;
	if (argc != 2 || scanf("%15s %x", word, &action) != 2 || strcmp(word, "default"))
		return 2;
	scmp_filter_ctx ctx = seccomp_init(action);
	if (!ctx)
		return die("init", "", -EINVAL);
	while (scanf("%15s", word) == 1) {
		if (!strcmp(word, "arch")) {
			if (scanf("%63s", name) != 1)
				return 2;
			int r = seccomp_arch_add(ctx, seccomp_arch_resolve_name(name));
			if (r && r != -EEXIST)
				return die("arch", name, r);
		} else if (!strcmp(word, "rule")) {
			unsigned int n;
			struct scmp_arg_cmp cmp[6];
			if (scanf("%x %63s %u", &action, name, &n) != 3 || n > 6)
				return 2;
			for (unsigned int i = 0; i < n; i++) {
				unsigned int arg, op;
				unsigned long long a, b;
				if (scanf("%u %u %llx %llx", &arg, &op, &a, &b) != 4)
					return 2;
				cmp[i] = (struct scmp_arg_cmp){ .arg = arg, .op = op, .datum_a = a, .datum_b = b };
			}
			int nr = seccomp_syscall_resolve_name(name);
			if (nr == __NR_SCMP_ERROR) {
				printf("unknown %s\n", name);
				continue;
			}
			int r = seccomp_rule_add_array(ctx, action, nr, n, cmp);
			if (r)
				return die("rule", name, r);
		} else {
			return 2;
		}
	}
	int fd = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		return die("open", argv[1], -errno);
	int r = seccomp_export_bpf(ctx, fd);
	if (r)
		return die("export", argv[1], r);
	seccomp_release(ctx);
	return close(fd) ? 1 : 0;
}
