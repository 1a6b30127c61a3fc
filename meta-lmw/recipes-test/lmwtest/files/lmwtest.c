// SPDX-License-Identifier: GPL-2.0
/*
 * Copyright (c) 2026 The meta-lmw authors
 *
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
 *   lmwtest [-u UID] lurkers COUNT KB SECONDS
 *	fork COUNT children (1..64, each killed when this process dies) that
 *	each commit KB and touch none of it; on SIGUSR1 to this process each
 *	touches all its KB, which takes room without committing more. Print
 *	lurkers=COUNT once all hold their KB, touched=COUNT once all have
 *	touched it; keep them for SECONDS (or until killed)
 *   lmwtest [-u UID] grow STEP_KB INTERVAL_MS
 *	a hog: commit and touch STEP_KB every INTERVAL_MS until stopped
 *   lmwtest [-u UID] stubborn KB
 *	use KB and ignore SIGTERM (print sigterm=ignored at each): only
 *	SIGKILL ends it
 *   lmwtest [-u UID] held KB
 *	fork a child that uses KB, and trace it with PTRACE_O_TRACEEXIT: pass
 *	on every signal, and never let the child past its exit stop, where it
 *	keeps its memory committed and drops every later signal (SIGKILL too).
 *	Print child=PID, then held=exit once the child is stopped on its way
 *	out; ends only when killed
 *   lmwtest [-u UID] heldchain KB
 *	held KB one level up: fork a tracer that runs held KB, and trace it
 *	with PTRACE_O_TRACEEXIT as it traces its child, so that the tracer
 *	too is held on its way out. Print tracer=PID, the tracer's child=PID,
 *	and held=exit for each stopped on its way out that its tracer sees
 *	there (the tracer's own hold goes unsaid when this process is killed
 *	first)
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
 *   lmwtest fuzz PATH COUNT SEED
 *	write COUNT random texts (SEED: the same ones again) to the sysctl
 *	PATH, each in one write at offset 0. The rule each is held to: plain
 *	digits 0..1000 and an optional newline are taken; anything else fails
 *	with EINVAL and leaves the value as it was. Print the counts, and the
 *	first text that broke the rule (escaped)
 *   lmwtest watch COUNT SECONDS
 *	poll(POLLPRI) on /sys/kernel/lmw/watermark/state; print each state
 *   lmwtest uevents COUNT SECONDS
 *	listen for KOBJ_CHANGE uevents from lmw; print their LMW_STATE
 *   lmwtest kmsg AFTER_SEQ
 *	print the kernel log records after sequence number AFTER_SEQ (from
 *	/dev/kmsg, which "dmesg -c" does not clear), then last_seq=
 *   lmwtest faultload MODULE MAX_N PARAMS
 *	load MODULE (a .ko file) with the Nth fault-injectable allocation of
 *	the load failing (/proc/thread-self/fail-nth), for N = 1, 2, ... until
 *	a load needs no more than N - 1 of them; after each failed load, look
 *	for what it may have left registered; unload after each success
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
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
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

/*
 * cmd_lurkers(): a family whose memory becomes resident only when asked, so
 * that it takes room while committed memory holds still. Each child says
 * on @report that it holds its KB, and again that it has touched it.
 */
#define LURKERS_MAX 64

static void lurk(long kb, int report)
{
	char *p = map_anon((size_t)kb * KB, 0);
	char held = p == MAP_FAILED ? 'n' : 'y';
	sigset_t usr1;
	int sig;

	if (write(report, &held, 1) != 1 || p == MAP_FAILED)
		_exit(1);
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	sigwait(&usr1, &sig);
	memset(p, 0x5a, (size_t)kb * KB);
	if (write(report, &held, 1) != 1)
		_exit(1);
	for (;;)
		pause();
}

/* @count one-byte reports on @fd, all of them 'y' */
static bool all_said_yes(int fd, long count)
{
	char said;

	while (count-- > 0)
		if (read(fd, &said, 1) != 1 || said != 'y')
			return false;
	return true;
}

static int cmd_lurkers(long count, long kb, long seconds)
{
	pid_t pids[LURKERS_MAX];
	sigset_t usr1;
	int report[2], sig;
	long i;

	if (count < 1 || count > LURKERS_MAX || pipe(report))
		return usage();
	/* blocked before the forks: a SIGUSR1 that comes early waits in each */
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	sigprocmask(SIG_BLOCK, &usr1, NULL);
	for (i = 0; i < count; i++) {
		pids[i] = fork();
		if (pids[i] < 0) {
			printf("fork=%s\n", errname(errno));
			return 1;
		}
		if (pids[i] == 0) {
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			close(report[0]);
			lurk(kb, report[1]);
		}
	}
	if (!all_said_yes(report[0], count)) {
		printf("lurkers=refused\n");
		return 1;
	}
	printf("lurkers=%ld\n", count);
	fflush(stdout);
	sigwait(&usr1, &sig);
	for (i = 0; i < count; i++)
		kill(pids[i], SIGUSR1);
	if (!all_said_yes(report[0], count)) {
		printf("touched=failed\n");
		return 1;
	}
	printf("touched=%ld\n", count);
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

/*
 * The tracer of cmd_held(). A tracee that dies stops at PTRACE_EVENT_EXIT
 * before its memory is released; there it stays until its tracer lets it
 * go (PTRACE_CONT, a detach, or the tracer's own exit).
 */
static int hold_on_exit(pid_t child)
{
	int status;

	if (waitpid(child, &status, 0) != child || !WIFSTOPPED(status))
		return 1;
	if (ptrace(PTRACE_SETOPTIONS, child, NULL, (void *)PTRACE_O_TRACEEXIT) ||
	    ptrace(PTRACE_CONT, child, NULL, NULL)) {
		printf("ptrace=%s\n", errname(errno));
		return 1;
	}
	for (;;) {
		if (waitpid(child, &status, __WALL) != child)
			return 1;
		if (!WIFSTOPPED(status)) {
			printf("child_ended=%d\n", status);
			return 0;
		}
		if (status >> 8 == (SIGTRAP | (PTRACE_EVENT_EXIT << 8))) {
			printf("held=exit\n");
			fflush(stdout);
			continue;	/* never let it go: waits until killed */
		}
		/* any other stop: the signal that stopped it, passed on */
		ptrace(PTRACE_CONT, child, NULL, (void *)(long)WSTOPSIG(status));
	}
}

/*
 * Fork a child that stops for this process to trace it (hold_on_exit()),
 * then runs @body(@kb), which never returns; print @name=PID.
 */
static int hold_child(const char *name, void (*body)(long kb), long kb)
{
	pid_t child;

	fflush(stdout);
	child = fork();
	if (child < 0) {
		printf("fork=%s\n", errname(errno));
		return 1;
	}
	if (child == 0) {
		if (ptrace(PTRACE_TRACEME, 0, NULL, NULL)) {
			printf("traceme=%s\n", errname(errno));
			_exit(1);
		}
		raise(SIGSTOP);
		body(kb);
		_exit(1);
	}
	printf("%s=%d\n", name, child);
	fflush(stdout);
	return hold_on_exit(child);
}

static void use_until_killed(long kb)
{
	use_memory(kb);
	for (;;)
		pause();
}

static int cmd_held(long kb)
{
	return hold_child("child", use_until_killed, kb);
}

static void held_in_turn(long kb)
{
	_exit(cmd_held(kb));
}

static int cmd_held_chain(long kb)
{
	return hold_child("tracer", held_in_turn, kb);
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

static void on_term_ignored(int sig)
{
	static const char said[] = "sigterm=ignored\n";

	(void)sig;
	if (write(STDOUT_FILENO, said, sizeof(said) - 1) < 0)
		return;	/* nowhere to say it: ignored all the same */
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

/* ---- fuzz: random writes to a sysctl knob ----------------------------- */

#define FUZZ_MAX_LEN 24		/* the module takes at most 15 bytes */

/* xorshift64: a seed gives the same texts on every machine */
static unsigned long long fuzz_state;

static unsigned long long fuzz_next(void)
{
	fuzz_state ^= fuzz_state << 13;
	fuzz_state ^= fuzz_state >> 7;
	fuzz_state ^= fuzz_state << 17;
	return fuzz_state;
}

/*
 * One text of 1..FUZZ_MAX_LEN bytes: in-range numbers, leading zeros,
 * out-of-range and huge numbers, signs, blanks, a newline in the middle,
 * NUL, and random bytes, so that both sides of the rule are hit often.
 */
static size_t fuzz_text(char *text)
{
	static const char *const affixes[] = { "", "\n", " ", "\t", "+", "-", "\0", "x", "\n\n" };
	unsigned int kind = fuzz_next() % 8;
	size_t len, i;

	if (kind >= 6) {	/* random bytes: digits and a little more, or any */
		len = 1 + fuzz_next() % FUZZ_MAX_LEN;
		for (i = 0; i < len; i++)
			text[i] = (char)(kind == 6 ? '0' + fuzz_next() % 12 : fuzz_next());
		return len;
	}
	if (kind < 2)		/* a value that may be taken */
		len = (size_t)snprintf(text, FUZZ_MAX_LEN, "%s%llu", kind ? "00" : "",
				       fuzz_next() % 1001);
	else if (kind < 4)	/* out of range, up to 20 digits */
		len = (size_t)snprintf(text, FUZZ_MAX_LEN, "%llu",
				       (fuzz_next() >> (fuzz_next() % 54)) + 1001);
	else			/* a number with something before it */
		len = (size_t)snprintf(text, FUZZ_MAX_LEN, "%s%llu", affixes[fuzz_next() % 9],
				       fuzz_next() % 2000);
	if (fuzz_next() % 2 && len + 2 < FUZZ_MAX_LEN) {	/* then an affix */
		const char *tail = affixes[fuzz_next() % 9];
		/* "" is sometimes an empty affix, sometimes a NUL byte */
		size_t extra = *tail ? strlen(tail) : fuzz_next() % 2;

		memcpy(text + len, *tail ? tail : "", extra);
		len += extra;
	}
	return len;
}

/* The rule: the value @text stands for, or -1 when it must be refused. */
static long fuzz_expected(const char *text, size_t len)
{
	long value = 0;
	size_t i;

	if (len && text[len - 1] == '\n')
		len--;
	if (!len || len > 14)
		return -1;
	for (i = 0; i < len; i++) {
		if (text[i] < '0' || text[i] > '9')
			return -1;
		value = value * 10 + (text[i] - '0');
	}
	return value <= 1000 ? value : -1;
}

static void fuzz_print_escaped(const char *key, const char *text, size_t len)
{
	size_t i;

	printf("%s=", key);
	for (i = 0; i < len; i++)
		printf((unsigned char)text[i] > ' ' && (unsigned char)text[i] < 127 &&
		       text[i] != '\\' ? "%c" : "\\x%02x", (unsigned char)text[i]);
	printf("\n");
}

static long fuzz_read(int fd)
{
	char value[32];
	ssize_t n = pread(fd, value, sizeof(value) - 1, 0);

	if (n <= 0)
		fail("fuzz: reading the knob back");
	value[n] = '\0';
	return atol(value);
}

static int cmd_fuzz(const char *path, long count, long seed)
{
	long taken = 0, refused = 0, wrong = 0, i, was, want, now_value;
	char text[FUZZ_MAX_LEN + 1];
	int fd = open(path, O_RDWR | O_CLOEXEC);
	ssize_t n;
	size_t len;

	if (fd < 0)
		fail(path);
	fuzz_state = 0x9e3779b97f4a7c15ULL ^ (unsigned long long)seed;
	for (i = 0; i < count; i++) {
		was = fuzz_read(fd);
		len = fuzz_text(text);
		want = fuzz_expected(text, len);
		n = pwrite(fd, text, len, 0);
		now_value = fuzz_read(fd);
		if (n == (ssize_t)len && want >= 0 && now_value == want) {
			taken++;
			continue;
		}
		if (n < 0 && errno == EINVAL && want < 0 && now_value == was) {
			refused++;
			continue;
		}
		if (!wrong++) {
			fuzz_print_escaped("first_wrong", text, len);
			printf("first_wrong_result=%s value %ld (was %ld, want %ld)\n",
			       n < 0 ? errname(errno) : "taken", now_value, was, want);
		}
	}
	close(fd);
	printf("writes=%ld\ntaken=%ld\nrefused=%ld\nwrong=%ld\n", count, taken, refused, wrong);
	return wrong != 0;
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

/* ---- kmsg: the kernel log, whatever dmesg -c cleared --------------------- */

static int cmd_kmsg(long long after)
{
	char record[8192];
	long long seq, last = -1;
	int fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	ssize_t n;
	char *text;

	if (fd < 0)
		fail("/dev/kmsg");
	for (;;) {
		n = read(fd, record, sizeof(record) - 1);
		if (n < 0 && errno == EPIPE)
			continue;	/* overwritten while we read: go on */
		if (n <= 0)
			break;
		record[n] = '\0';
		/* "PRIO,SEQ,USEC,FLAGS;text\n", then " KEY=value" lines */
		text = strchr(record, ';');
		if (!text || sscanf(record, "%*d,%lld", &seq) != 1)
			continue;
		last = seq;
		if (seq > after)
			printf("kmsg %.*s\n", (int)strcspn(text + 1, "\n"), text + 1);
	}
	close(fd);
	printf("last_seq=%lld\n", last);
	return 0;
}

/* ---- faultload: each allocation of a module's load failing in turn ------ */

/*
 * Arm (@n > 0), disarm (0) or read (-1: 1 when the armed fault was
 * injected) this thread's fail-nth through @fd, opened beforehand: an open()
 * would itself allocate, and count.
 */
static int fail_nth(int fd, long n)
{
	char text[24];
	ssize_t len;

	if (n >= 0) {
		len = snprintf(text, sizeof(text), "%ld", n);
		if (pwrite(fd, text, (size_t)len, 0) != len)
			fail("writing fail-nth");
		return 0;
	}
	len = pread(fd, text, sizeof(text) - 1, 0);
	if (len <= 0)
		fail("reading fail-nth");
	text[len] = '\0';
	return atol(text) == 0;		/* 0: the fault was injected */
}

/* What a failed load of lmw left behind, or NULL: every trace of it. */
static const char *lmw_leftover(void)
{
	static const char *const paths[] = {
		"/sys/module/lmw", "/sys/kernel/lmw", "/proc/sys/vm/lowmem_deny_watermark",
		"/sys/kernel/low_watermark",
	};
	char list[8192];
	struct stat st;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(paths); i++)
		if (!stat(paths[i], &st))
			return paths[i];
	if (!read_text("/sys/kernel/debug/kprobes/list", list, sizeof(list)) &&
	    (strstr(list, "vm_enough_memory")))
		return "a kprobe on the commit decision";
	return NULL;
}

static int cmd_faultload(const char *module, long max_n, const char *params)
{
	long n, failed = 0, absorbed = 0, loaded_at = 0;
	const char *left = NULL;
	int fd, nth, ret, err, injected;

	nth = open("/proc/thread-self/fail-nth", O_RDWR | O_CLOEXEC);
	if (nth < 0)
		fail("/proc/thread-self/fail-nth (CONFIG_FAULT_INJECTION)");
	for (n = 1; n <= max_n; n++) {
		fd = open(module, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			fail(module);
		fail_nth(nth, n);
		ret = (int)syscall(SYS_finit_module, fd, params, 0);
		err = errno;
		injected = fail_nth(nth, -1);
		fail_nth(nth, 0);
		close(fd);
		if (ret && !injected) {
			printf("error=load failed with no fault injected: %s\n", errname(err));
			break;
		}
		if (!ret) {
			if (syscall(SYS_delete_module, "lmw", O_NONBLOCK))
				fail("unloading lmw");
			if (!injected) {
				loaded_at = n;	/* N - 1 faults were all there were */
				break;
			}
			absorbed++;
			continue;
		}
		failed++;
		left = lmw_leftover();
		if (left) {
			printf("leftover_at=%ld errno=%s what=%s\n", n, errname(err), left);
			break;
		}
	}
	close(nth);
	printf("attempts=%ld\nfailed_cleanly=%ld\nabsorbed=%ld\nloaded_at=%ld\n",
	       n > max_n ? max_n : n, failed, absorbed, loaded_at);
	return !loaded_at;
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
	if (!strcmp(cmd, "lurkers") && argc == 5)
		return cmd_lurkers(atol(argv[2]), atol(argv[3]), atol(argv[4]));
	if (!strcmp(cmd, "use") && argc == 4) {
		use_memory(atol(argv[2]));
		sleep((unsigned int)atol(argv[3]));
		return 0;
	}
	if (!strcmp(cmd, "grow") && argc == 4) {
		grow(atol(argv[2]), atol(argv[3]), true, grow_granted, grow_refused);
		return 0;	/* not reached: it grows until stopped */
	}
	if (!strcmp(cmd, "stubborn") && argc == 3) {
		signal(SIGTERM, on_term_ignored);
		use_memory(atol(argv[2]));
		for (;;)
			pause();
	}
	if (!strcmp(cmd, "held") && argc == 3)
		return cmd_held(atol(argv[2]));
	if (!strcmp(cmd, "heldchain") && argc == 3)
		return cmd_held_chain(atol(argv[2]));
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
	if (!strcmp(cmd, "kmsg") && argc == 3)
		return cmd_kmsg(atoll(argv[2]));
	if (!strcmp(cmd, "faultload") && argc == 5)
		return cmd_faultload(argv[2], arg(argv[3], 1), argv[4]);
	if (!strcmp(cmd, "fuzz") && argc == 5)
		return cmd_fuzz(argv[2], arg(argv[3], 1), arg(argv[4], 0));
	if (!strcmp(cmd, "watch") && argc == 4)
		return cmd_watch(atol(argv[2]), atol(argv[3]));
	if (!strcmp(cmd, "uevents") && argc == 4)
		return cmd_uevents(atol(argv[2]), atol(argv[3]));
	return usage();
}
