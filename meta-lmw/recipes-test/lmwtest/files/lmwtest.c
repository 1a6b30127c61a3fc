// SPDX-License-Identifier: GPL-2.0
/*
 * lmwtest - guest-side helper for the lmw tests (static: runs in the busybox
 * initramfs, which has no python3). Every subcommand prints key=value lines
 * for the test to parse.
 *
 *   lmwtest [-u UID] commit KIND STEP_KB MAX_KB
 *	commit memory in STEP_KB steps with KIND (mmap, brk, mremap, filemap,
 *	shmem) until refused or MAX_KB; print what was committed and, on
 *	refusal, errno and the exact committed figure right after it
 *   lmwtest [-u UID] fork HOLD_KB
 *	commit HOLD_KB (anonymous, private), then fork: the child needs as much
 *   lmwtest [-u UID] refuse COUNT KB
 *	try COUNT commitments of KB that must all be refused; print committed
 *	memory before and after
 *   lmwtest [-u UID] hold KB SECONDS
 *	commit KB and keep it for SECONDS (or until killed)
 *   lmwtest [-u UID] use KB SECONDS
 *	commit KB, touch every page (real RSS), keep it for SECONDS
 *   lmwtest [-u UID] grow STEP_KB INTERVAL_MS
 *	a hog: commit and touch STEP_KB every INTERVAL_MS until stopped
 *   lmwtest [-u UID] stubborn KB
 *	use KB and ignore SIGTERM: only SIGKILL ends it
 *   lmwtest [-u UID] optin KB LOG
 *	use KB, opt in to the terminator's warning (/run/lmw/warn.d/PID) and
 *	append "warned T" on SIGUSR1, "sigterm T" on SIGTERM (then exit) to LOG
 *   lmwtest [-u UID] churn KB SECONDS
 *	map and unmap KB in a loop for SECONDS; count refusals
 *   lmwtest [-u UID] stack KB
 *	grow a child's stack by KB (recursion, each page touched): print how
 *	the child ended (ok, or the signal that stopped it)
 *   lmwtest [-u UID] write PATH VALUE
 *	write VALUE to PATH once; print errno
 *   lmwtest watch COUNT SECONDS
 *	poll(POLLPRI) on /sys/kernel/lmw/watermark/state; print each state
 *   lmwtest uevents COUNT SECONDS
 *	listen for KOBJ_CHANGE uevents from lmw; print their LMW_STATE
 *
 * -u UID drops to that uid/gid (with no capabilities) before acting.
 */
#define _GNU_SOURCE
#define PROG "lmwtest"
#include <linux/netlink.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "lmwhelpers.h"

static long committed_kb(void)
{
	long kb;

	return read_lmw_kb("committed_kb", &kb) ? -1 : kb;
}

/* CLOCK_MONOTONIC in seconds */
static double now(void)
{
	return (double)now_ns() / SEC;
}

/* One commitment of @len by @kind; returns 0 or an errno. */
static int commit_once(const char *kind, size_t len, void **area, size_t *area_len)
{
	void *p;

	if (!strcmp(kind, "mmap")) {
		p = map_anon(len, 0);
		return p == MAP_FAILED ? errno : 0;
	}
	if (!strcmp(kind, "shmem")) {
		p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
		return p == MAP_FAILED ? errno : 0;
	}
	if (!strcmp(kind, "brk"))
		return sbrk((intptr_t)len) == (void *)-1 ? errno : 0;
	if (!strcmp(kind, "filemap")) {
		char path[] = "/tmp/lmwtest-XXXXXX";
		int fd = mkstemp(path);

		if (fd < 0)
			return errno;
		unlink(path);
		if (ftruncate(fd, (off_t)len)) {
			close(fd);
			return errno;
		}
		/* private + writable: copy-on-write pages are committed */
		p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
		close(fd);
		return p == MAP_FAILED ? errno : 0;
	}
	if (!strcmp(kind, "mremap")) {
		if (!*area) {
			p = map_anon(len, 0);
			if (p == MAP_FAILED)
				return errno;
			*area = p;
			*area_len = len;
			return 0;
		}
		p = mremap(*area, *area_len, *area_len + len, MREMAP_MAYMOVE);
		if (p == MAP_FAILED)
			return errno;
		*area = p;
		*area_len += len;
		return 0;
	}
	fprintf(stderr, "lmwtest: unknown kind %s\n", kind);
	exit(2);
}

static int cmd_commit(const char *kind, long step_kb, long max_kb)
{
	void *area = NULL;
	size_t area_len = 0;
	long done = 0;
	int err = 0;

	while (done + step_kb <= max_kb) {
		err = commit_once(kind, (size_t)step_kb * KB, &area, &area_len);
		if (err)
			break;
		done += step_kb;
	}
	printf("kind=%s\ncommitted_by_me_kb=%ld\n", kind, done);
	if (err) {
		printf("refused=1\nerrno=%s\ncommitted_kb=%ld\n", errname(err), committed_kb());
		return 1;
	}
	printf("refused=0\n");
	return 0;
}

static int cmd_fork(long hold_kb)
{
	void *p = map_anon((size_t)hold_kb * KB, 0);
	pid_t child;
	int status;

	if (p == MAP_FAILED) {
		printf("hold=%s\n", errname(errno));
		return 2;
	}
	child = fork();
	if (child < 0) {
		printf("fork=%s\n", errname(errno));
		return 1;
	}
	if (child == 0)
		_exit(0);
	waitpid(child, &status, 0);
	printf("fork=ok\n");
	return 0;
}

static int cmd_refuse(long count, long kb)
{
	long before = committed_kb(), refused = 0, i;
	void *p;

	for (i = 0; i < count; i++) {
		p = map_anon((size_t)kb * KB, 0);
		if (p == MAP_FAILED)
			refused++;
		else
			munmap(p, (size_t)kb * KB);
	}
	printf("before_kb=%ld\nafter_kb=%ld\nrefused=%ld\n", before, committed_kb(), refused);
	return refused == count ? 0 : 1;
}

static int cmd_hold(long kb, long seconds)
{
	void *p = map_anon((size_t)kb * KB, 0);

	if (p == MAP_FAILED) {
		printf("hold=%s\n", errname(errno));
		return 1;
	}
	printf("hold=ok\n");
	fflush(stdout);
	sleep((unsigned int)seconds);
	return 0;
}

static void *use_memory(long kb)
{
	void *p = use_anon((size_t)kb * KB);

	if (p == MAP_FAILED) {
		printf("use=%s\n", errname(errno));
		exit(1);
	}
	printf("use=ok\n");
	fflush(stdout);
	return p;
}

/* grow(): a line per step, granted or refused (stdout is line-buffered) */
static void grow_granted(long size_kb)
{
	printf("grown_kb=%ld\n", size_kb);
}

static void grow_refused(int err, long size_kb)
{
	printf("refused=%s grown_kb=%ld\n", errname(err), size_kb);
}

static int log_fd = -1;

static void log_event(const char *what)
{
	char line[64];
	int n = snprintf(line, sizeof(line), "%s %.3f\n", what, now());

	if (write(log_fd, line, (size_t)n) < 0)
		_exit(3);
}

static void on_usr1(int sig)
{
	(void)sig;
	log_event("warned");
}

static void on_term(int sig)
{
	(void)sig;
	log_event("sigterm");
	_exit(0);
}

static int cmd_optin(long kb, const char *log_path)
{
	char optin[64];
	int fd;

	log_fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND, 0644);
	if (log_fd < 0) {
		perror("lmwtest: optin log");
		return 2;
	}
	signal(SIGUSR1, on_usr1);
	signal(SIGTERM, on_term);
	use_memory(kb);
	snprintf(optin, sizeof(optin), "/run/lmw/warn.d/%d", getpid());
	fd = open(optin, O_WRONLY | O_CREAT, 0644);
	if (fd < 0) {
		perror("lmwtest: opting in");
		return 2;
	}
	close(fd);
	printf("optin=ok\n");
	fflush(stdout);
	for (;;)
		pause();
}

static int cmd_churn(long kb, long seconds)
{
	double end = now() + seconds;
	long rounds = 0, refused = 0;
	void *p;

	while (now() < end) {
		p = map_anon((size_t)kb * KB, 0);
		if (p == MAP_FAILED) {
			refused++;
		} else {
			memset(p, 1, 4096);
			munmap(p, (size_t)kb * KB);
		}
		rounds++;
	}
	printf("rounds=%ld\nrefused=%ld\n", rounds, refused);
	return 0;
}

/* Recurse in 64 KiB frames, touching each page, until @kb are used. */
static long grow_stack(long kb)
{
	char frame[64 * 1024];
	size_t i;

	for (i = 0; i < sizeof(frame); i += 4096)
		frame[i] = 1;
	/* the frame is used: the compiler may neither drop nor shrink it */
	asm volatile("" : : "r"(frame) : "memory");
	if (kb <= 64)
		return frame[0];
	return grow_stack(kb - 64) + frame[4096];
}

static int cmd_stack(const char *self, long kb)
{
	struct rlimit unlimited = { RLIM_INFINITY, RLIM_INFINITY };
	char kb_text[32];
	pid_t child;
	int status;

	/*
	 * With an unlimited stack rlimit at exec, the kernel lays out mmaps
	 * bottom-up and leaves the stack room to grow: the child execs anew.
	 */
	if (setrlimit(RLIMIT_STACK, &unlimited)) {
		printf("stack=%s\n", errname(errno));
		return 2;
	}
	snprintf(kb_text, sizeof(kb_text), "%ld", kb);
	child = fork();
	if (child == 0) {
		execl(self, self, "stack-run", kb_text, (char *)NULL);
		_exit(127);
	}
	waitpid(child, &status, 0);
	if (WIFSIGNALED(status))
		printf("stack=%s\n", sigabbrev_np(WTERMSIG(status)));
	else
		printf("stack=%s\n", WEXITSTATUS(status) ? "failed" : "ok");
	return 0;
}

static int cmd_write(const char *path, const char *value)
{
	int err = write_text(path, value);

	printf("errno=%s\n", err ? errname(-err) : "0");
	return err != 0;
}

static int cmd_watch(long count, long seconds)
{
	double start = now(), end = start + seconds;
	struct pollfd pfd = { .events = POLLPRI | POLLERR };
	char state[32];
	long seen = 0;

	pfd.fd = open(STATE_FILE, O_RDONLY);
	if (pfd.fd < 0) {
		perror("lmwtest: " STATE_FILE);
		return 2;
	}
	read_state(pfd.fd, state, sizeof(state));	/* arms the poll */
	printf("initial=%s\n", state);
	fflush(stdout);
	while (seen < count && now() < end) {
		if (poll(&pfd, 1, (int)((end - now()) * 1000) + 1) <= 0)
			continue;
		read_state(pfd.fd, state, sizeof(state));
		printf("state=%s t=%.3f\n", state, now() - start);
		fflush(stdout);
		seen++;
	}
	return seen == count ? 0 : 1;
}

static int cmd_uevents(long count, long seconds)
{
	struct sockaddr_nl addr = { .nl_family = AF_NETLINK, .nl_groups = 1 };
	double end = now() + seconds;
	char buf[4096];
	long seen = 0;
	int fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_KOBJECT_UEVENT);
	struct pollfd pfd = { .fd = fd, .events = POLLIN };

	if (fd < 0 || bind(fd, (struct sockaddr *)&addr, sizeof(addr))) {
		perror("lmwtest: uevent socket");
		return 2;
	}
	printf("listening=1\n");
	fflush(stdout);
	while (seen < count && now() < end) {
		ssize_t n, off;
		const char *devpath = NULL, *state = NULL, *action = NULL;

		if (poll(&pfd, 1, (int)((end - now()) * 1000) + 1) <= 0)
			continue;
		n = recv(fd, buf, sizeof(buf) - 1, 0);
		if (n <= 0)
			continue;
		buf[n] = '\0';
		for (off = 0; off < n; off += (ssize_t)strlen(buf + off) + 1) {
			if (!strncmp(buf + off, "DEVPATH=", 8))
				devpath = buf + off + 8;
			else if (!strncmp(buf + off, "LMW_STATE=", 10))
				state = buf + off + 10;
			else if (!strncmp(buf + off, "ACTION=", 7))
				action = buf + off + 7;
		}
		if (!devpath || strcmp(devpath, "/kernel/lmw/watermark") || !state)
			continue;
		printf("uevent=%s state=%s\n", action ? action : "?", state);
		fflush(stdout);
		seen++;
	}
	close(fd);
	return seen == count ? 0 : 1;
}

int main(int argc, char **argv)
{
	const char *cmd = subcommand(&argc, &argv);

	if (!cmd)
		return usage();
	if (!strcmp(cmd, "commit") && argc == 5)
		return cmd_commit(argv[2], atol(argv[3]), atol(argv[4]));
	if (!strcmp(cmd, "fork") && argc == 3)
		return cmd_fork(atol(argv[2]));
	if (!strcmp(cmd, "refuse") && argc == 4)
		return cmd_refuse(atol(argv[2]), atol(argv[3]));
	if (!strcmp(cmd, "hold") && argc == 4)
		return cmd_hold(atol(argv[2]), atol(argv[3]));
	if (!strcmp(cmd, "use") && argc == 4) {
		use_memory(atol(argv[2]));
		sleep((unsigned int)atol(argv[3]));
		return 0;
	}
	if (!strcmp(cmd, "grow") && argc == 4) {
		grow(atol(argv[2]), atol(argv[3]), grow_granted, grow_refused);
		return 0;	/* not reached: it grows until stopped */
	}
	if (!strcmp(cmd, "stubborn") && argc == 3) {
		signal(SIGTERM, SIG_IGN);
		use_memory(atol(argv[2]));
		for (;;)
			pause();
	}
	if (!strcmp(cmd, "optin") && argc == 4)
		return cmd_optin(atol(argv[2]), argv[3]);
	if (!strcmp(cmd, "churn") && argc == 4)
		return cmd_churn(atol(argv[2]), atol(argv[3]));
	if (!strcmp(cmd, "stack") && argc == 3)
		return cmd_stack("/proc/self/exe", atol(argv[2]));
	if (!strcmp(cmd, "stack-run") && argc == 3)
		return grow_stack(atol(argv[2])) < 0;
	if (!strcmp(cmd, "write") && argc == 4)
		return cmd_write(argv[2], argv[3]);
	if (!strcmp(cmd, "watch") && argc == 4)
		return cmd_watch(atol(argv[2]), atol(argv[3]));
	if (!strcmp(cmd, "uevents") && argc == 4)
		return cmd_uevents(atol(argv[2]), atol(argv[3]));
	return usage();
}
