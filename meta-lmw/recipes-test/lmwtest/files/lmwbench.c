// SPDX-License-Identifier: GPL-2.0
/*
 * Copyright (c) 2026 The meta-lmw authors
 *
 * lmwbench - guest-side half of "make bench" (static, like lmwtest): the
 * cost of the hook, the latency of the low-memory signal, and what memory
 * stress does to other tasks. Every subcommand prints key=value lines, one
 * record per line, starting with the subcommand's name. Times are
 * CLOCK_MONOTONIC nanoseconds, comparable between processes.
 *
 *   lmwbench [-u UID] ops KIND COUNT
 *	time COUNT commitments of KIND (after COUNT/10 to warm up): mmap4k
 *	(4 KiB mmap + munmap), mmap2m (2 MiB, never touched), brk (+64 KiB,
 *	-64 KiB); print "ops kind= count= ns_per_op="
 *   lmwbench signal CROSSINGS
 *	root, lmw.ko loaded: set the notify line 3% of RAM above committed
 *	memory (deny at 1000, so notify only), cross it CROSSINGS times with
 *	an untouched mmap and time how soon a poll(POLLPRI) waiter wakes up;
 *	print "signal n= latency_ns=" per crossing, then "signal crossings=
 *	p50_ns= p99_ns= max_ns="; the saved watermarks are always restored
 *   lmwbench [-u UID] victim BELOW_KB PAST_KB LOG
 *	oom_score_adj 1000; commit BELOW_KB and touch each page (the part
 *	that stays under the line: committed memory under a commit line, or
 *	MemAvailable down to a line on resident memory, as earlyoom's); then
 *	cross_ns = now, commit PAST_KB (the commitment that crosses a commit
 *	line), touch each page (the first touches cross a resident line) and
 *	wait: either killer meets the same work after the crossing. Append
 *	"victim pid= cross_ns= term_ns=" to LOG on SIGTERM (and exit 0), or
 *	"victim pid= cross_ns= refused errno=" if an mmap fails (exit 1); a
 *	SIGTERM before the crossing logs "cross_ns=0". A victim that no
 *	SIGTERM reaches within VICTIM_WAIT_S ends by SIGALRM (exit status 142)
 *   lmwbench [-u UID] heartbeat INTERVAL_MS SECONDS OUT
 *	wake up every INTERVAL_MS (absolute targets) for SECONDS or until
 *	SIGTERM (exit 143) or SIGINT (exit 130); append "t_ms= late_us=" per
 *	wake-up to OUT, print "heartbeat samples= p50_us= p99_us= max_us=
 *	missed=" (missed: targets skipped after a wake-up a whole interval late)
 *   lmwbench [-u UID] service KB SECONDS
 *	use KB, write a byte to each of its pages every 100 ms for SECONDS
 *	or until SIGTERM (exit 143); print "service kb= rounds="
 *   lmwbench [-u UID] hog STEP_KB INTERVAL_MS [untouched]
 *	use STEP_KB more every INTERVAL_MS until stopped; print "hog size_kb="
 *	every 16 MiB, "hog refused errno= size_kb=" when refused (once per run
 *	of refusals; it keeps trying), "hog terminated size_kb=" on SIGTERM
 *	(exit 143); "untouched": commit only, never write a page
 *   lmwbench [-u UID] storm KB PARALLEL
 *	a fork storm: keep forking, each child using KB and then sleeping,
 *	up to PARALLEL alive, a fork every 5 ms; print "storm alive=" every
 *	64 children, "storm refused errno= alive=" at the first failed fork
 *	or child of a run of them (it keeps trying); SIGTERM ends it (exit
 *	143), and its children with it
 *   lmwbench [-u UID] forkburst COUNT PARALLEL KB
 *	fork COUNT children, at most PARALLEL at once, each using KB; print
 *	"forkburst count= failed= killed= refused= seconds=" (failed: forks
 *	that failed; killed: children ended by a signal; refused: children
 *	whose mmap failed)
 *
 * -u UID drops to that uid/gid (with no capabilities) before acting.
 */
#define _GNU_SOURCE
#define PROG "lmwbench"
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/wait.h>

#include "lmwhelpers.h"

#define NOTIFY_SYSCTL "/proc/sys/vm/lowmem_notify_watermark"
#define DENY_SYSCTL "/proc/sys/vm/lowmem_deny_watermark"
#define SIGNAL_TIMEOUT_MS 10000

/* ---- helpers ---------------------------------------------------------- */

static int cmp_ll(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;

	return (x > y) - (x < y);
}

/* Nearest rank: the smallest value with at least @pct % at or below it. */
static long long percentile(const long long *sorted, size_t n, unsigned int pct)
{
	size_t rank = (n * pct + 99) / 100;

	if (!n)
		return 0;
	return sorted[rank ? rank - 1 : 0];
}

/*
 * Async-signal-safe output for the handlers (no stdio there): put_field()
 * appends @key and the decimal @v at @at and returns the length; end_line()
 * ends the line of @n bytes, writes it to @fd and _exits with @status.
 */
static size_t put_field(char *at, const char *key, unsigned long long v)
{
	char digits[24];
	size_t n = 0, k = 0;

	for (; key[n]; n++)
		at[n] = key[n];
	do {
		digits[k++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (k)
		at[n++] = digits[--k];
	return n;
}

static void end_line(int fd, char *line, size_t n, int status)
{
	line[n++] = '\n';
	if (write(fd, line, n) < 0)
		_exit(3);
	_exit(status);
}

/* A signal that asks a loop to end; set by on_stop(). */
static atomic_int stop_signal;		/* set by the signal handler */

static void on_stop(int sig)
{
	stop_signal = sig;
}

/* SIGTERM and SIGINT set stop_signal and interrupt sleeps (no SA_RESTART). */
static void catch_stop(void)
{
	struct sigaction sa = { .sa_handler = on_stop };

	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
}

static int stop_status(void)
{
	if (stop_signal == SIGTERM)
		return 143;
	return stop_signal == SIGINT ? 130 : 0;
}

/* Write @value to one byte of each page of @p: real RSS, or kept in use. */
static void touch_pages(char *p, size_t len, char value)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE), off;

	for (off = 0; off < len; off += page)
		p[off] = value;
	/* the pages are used: the compiler may not drop the writes */
	asm volatile("" : : "r"(p) : "memory");
}

/* ---- ops: the cost of one commitment ---------------------------------- */

static int op_mmap(size_t len)
{
	void *p = map_anon(len, 0);

	if (p == MAP_FAILED)
		return -errno;
	munmap(p, len);
	return 0;
}

static int op_mmap4k(void)
{
	return op_mmap(4 * KB);
}

static int op_mmap2m(void)
{
	return op_mmap(2048 * KB);
}

static int op_brk(void)
{
	if (sbrk(64 * KB) == (void *)-1)
		return -errno;
	if (sbrk(-(intptr_t)(64 * KB)) == (void *)-1)
		return -errno;
	return 0;
}

static int cmd_ops(const char *kind, long count)
{
	int (*op)(void);
	long long start;
	long i;
	int err = 0;

	if (!strcmp(kind, "mmap4k")) {
		op = op_mmap4k;
	} else if (!strcmp(kind, "mmap2m")) {
		op = op_mmap2m;
	} else if (!strcmp(kind, "brk")) {
		op = op_brk;
	} else {
		fprintf(stderr, "lmwbench: unknown kind %s (mmap4k, mmap2m, brk)\n", kind);
		return 2;
	}
	for (i = 0; i < count / 10 && !err; i++)
		err = op();
	start = now_ns();
	for (i = 0; i < count && !err; i++)
		err = op();
	if (err) {
		printf("ops kind=%s count=%ld errno=%s\n", kind, count, errname(-err));
		return 1;
	}
	printf("ops kind=%s count=%ld ns_per_op=%.1f\n", kind, count,
	       (double)(now_ns() - start) / (double)count);
	return 0;
}

/* ---- signal: latency of the low-memory signal ------------------------- */

/* One state as the waiter saw it, and when it woke up for it. */
struct report {
	char state[16];
	long long ns;
};

static long lmw_kb(const char *name)
{
	long kb;
	int err = read_lmw_kb(name, &kb);

	if (err) {
		fprintf(stderr, "lmwbench: signal: reading " LMW_DIR "%s: %s\n", name,
			strerror(-err));
		return -1;
	}
	return kb;
}

static int set_knob(const char *path, const char *value)
{
	int err = write_text(path, value);

	if (err)
		fprintf(stderr, "lmwbench: signal: writing %s to %s: %s\n", value, path,
			strerror(-err));
	return err;
}

static void send_report(int out, const char *state, long long ns)
{
	struct report r = { .ns = ns };

	snprintf(r.state, sizeof(r.state), "%s", state);
	if (write(out, &r, sizeof(r)) != sizeof(r))
		_exit(1);	/* the parent is gone */
}

/*
 * The waiter: reports its first reading (it is armed then), and from then
 * on every change of state with the time it woke up for it. Never returns.
 */
static void watch_state(int out)
{
	struct pollfd pfd = { .events = POLLPRI | POLLERR };
	char last[16], state[16];
	long long woke;
	int n, err;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	pfd.fd = open(STATE_FILE, O_RDONLY);
	err = pfd.fd < 0 ? -errno : read_state(pfd.fd, last, sizeof(last));
	if (err) {
		fprintf(stderr, "lmwbench: signal: waiter: %s: %s\n", STATE_FILE, strerror(-err));
		_exit(1);
	}
	send_report(out, last, now_ns());
	for (;;) {
		n = poll(&pfd, 1, SIGNAL_TIMEOUT_MS);
		woke = now_ns();
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			perror("lmwbench: signal: waiter: poll");
			_exit(1);
		}
		if (n == 0) {
			fprintf(stderr, "lmwbench: signal: waiter: no change of state in %d s\n",
				SIGNAL_TIMEOUT_MS / 1000);
			_exit(1);
		}
		err = read_state(pfd.fd, state, sizeof(state));
		if (err) {
			fprintf(stderr, "lmwbench: signal: waiter: reading %s: %s\n", STATE_FILE,
				strerror(-err));
			_exit(1);
		}
		if (strcmp(state, last)) {
			send_report(out, state, woke);
			memcpy(last, state, sizeof(last));
		}
	}
}

/*
 * Wait up to SIGNAL_TIMEOUT_MS for the waiter to report @want, skipping
 * other reports; 0 (with @ns set), -ETIMEDOUT, -EPIPE (the waiter is gone)
 * or -EINTR (asked to stop).
 */
static int wait_report(int in, const char *want, long long *ns)
{
	long long deadline = now_ns() + SIGNAL_TIMEOUT_MS * MS;
	struct pollfd pfd = { .fd = in, .events = POLLIN };
	struct report r;
	long long left;
	ssize_t n;

	for (;;) {
		if (stop_signal)
			return -EINTR;
		left = deadline - now_ns();
		if (left <= 0)
			return -ETIMEDOUT;
		if (poll(&pfd, 1, (int)(left / MS) + 1) <= 0)
			continue;
		n = read(in, &r, sizeof(r));
		if (n < 0 && errno == EINTR)
			continue;
		if (n != sizeof(r))
			return -EPIPE;
		r.state[sizeof(r.state) - 1] = '\0';
		if (!strcmp(r.state, want)) {
			*ns = r.ns;
			return 0;
		}
	}
}

/* Wait up to SIGNAL_TIMEOUT_MS for the state file to say "normal". */
static int wait_normal(void)
{
	struct timespec pause = timespec_of(MS);
	long long deadline = now_ns() + SIGNAL_TIMEOUT_MS * MS;
	char state[16];
	int err;

	for (;;) {
		err = read_text(STATE_FILE, state, sizeof(state));
		if (err)
			return err;
		if (!strcmp(state, "normal"))
			return 0;
		if (stop_signal)
			return -EINTR;
		if (now_ns() > deadline)
			return -ETIMEDOUT;
		nanosleep(&pause, NULL);
	}
}

static const char *why(int err)
{
	if (err == -ETIMEDOUT)
		return "timed out after 10 s";
	if (err == -EPIPE)
		return "the waiter ended";
	if (err == -EINTR)
		return "interrupted";
	return strerror(-err);
}

/* One crossing of the notify line; its latency in @latency. 0 or -errno. */
static int cross_once(int in, long crossing, long notify_kb, long total_kb,
		      long long *latency)
{
	long long start, woke;
	long committed, want_kb;
	size_t len;
	void *p;
	int err;

	err = wait_normal();
	if (err) {
		fprintf(stderr, "lmwbench: signal: crossing %ld: state not normal: %s\n",
			crossing, why(err));
		return err;
	}
	committed = lmw_kb("committed_kb");
	if (committed < 0)
		return -EIO;
	want_kb = notify_kb + total_kb / 100 - committed;
	len = (size_t)(want_kb > 4 ? want_kb : 4) * KB;
	start = now_ns();
	p = map_anon(len, 0);
	if (p == MAP_FAILED) {
		err = errno;
		fprintf(stderr, "lmwbench: signal: crossing %ld: mmap of %zu kB: %s\n",
			crossing, len / (size_t)KB, strerror(err));
		return -err;
	}
	err = wait_report(in, "notify", &woke);
	munmap(p, len);
	if (err) {
		fprintf(stderr, "lmwbench: signal: crossing %ld: no notify: %s\n", crossing,
			why(err));
		return err;
	}
	*latency = woke - start;
	printf("signal n=%ld latency_ns=%lld\n", crossing, *latency);
	err = wait_report(in, "normal", &woke);
	if (err)
		fprintf(stderr, "lmwbench: signal: crossing %ld: no return to normal: %s\n",
			crossing, why(err));
	return err;
}

/* Set the lines, start the waiter and cross; the caller restores the lines. */
static int run_crossings(long crossings, long long *latencies)
{
	long committed = lmw_kb("committed_kb"), total = lmw_kb("totalram_kb");
	long notify_kb, percent, i;
	long long ready;
	char text[16];
	int pipefd[2], err = 0;
	pid_t child;

	if (committed < 0 || total <= 0)
		return 1;
	/* the smallest percent at least 3% of RAM above committed memory */
	percent = (committed * 100 + total - 1) / total + 3;
	if (percent > 1000) {
		fprintf(stderr, "lmwbench: signal: committed %ld kB is far above RAM\n",
			committed);
		return 1;
	}
	snprintf(text, sizeof(text), "%ld\n", percent);
	if (set_knob(DENY_SYSCTL, "1000\n") || set_knob(NOTIFY_SYSCTL, text))
		return 1;
	notify_kb = lmw_kb("notify_kb");
	if (notify_kb <= 0)
		return 1;
	if (pipe2(pipefd, O_CLOEXEC)) {
		perror("lmwbench: signal: pipe");
		return 1;
	}
	err = wait_normal();
	if (err) {
		fprintf(stderr, "lmwbench: signal: state not normal at %ld%%: %s\n", percent,
			why(err));
		goto out_pipe;
	}
	fflush(stdout);
	child = fork();
	if (child < 0) {
		err = -errno;
		fprintf(stderr, "lmwbench: signal: fork: %s\n", strerror(-err));
		goto out_pipe;
	}
	if (child == 0) {
		close(pipefd[0]);
		watch_state(pipefd[1]);
	}
	close(pipefd[1]);
	pipefd[1] = -1;
	err = wait_report(pipefd[0], "normal", &ready);
	if (err) {
		fprintf(stderr, "lmwbench: signal: the waiter did not start: %s\n", why(err));
		goto out_child;
	}
	for (i = 0; i < crossings && !err; i++)
		err = cross_once(pipefd[0], i + 1, notify_kb, total, &latencies[i]);
out_child:
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
out_pipe:
	close(pipefd[0]);
	if (pipefd[1] >= 0)
		close(pipefd[1]);
	return err ? 1 : 0;
}

static int cmd_signal(long crossings)
{
	char notify[16], deny[16];
	long long *latencies;
	int ret, err;

	if (geteuid()) {
		fprintf(stderr, "lmwbench: signal: needs root (it sets the watermarks)\n");
		return 1;
	}
	err = read_text(NOTIFY_SYSCTL, notify, sizeof(notify));
	if (!err)
		err = read_text(DENY_SYSCTL, deny, sizeof(deny));
	if (err) {
		fprintf(stderr, "lmwbench: signal: reading the watermarks: %s (lmw.ko loaded?)\n",
			strerror(-err));
		return 1;
	}
	latencies = calloc((size_t)crossings, sizeof(*latencies));
	if (!latencies) {
		perror("lmwbench: signal");
		return 1;
	}
	catch_stop();
	ret = run_crossings(crossings, latencies);
	/* back to the saved lines whatever happened, notify first (as set: reversed) */
	strcat(notify, "\n");
	strcat(deny, "\n");
	if (set_knob(NOTIFY_SYSCTL, notify) | set_knob(DENY_SYSCTL, deny))
		ret = 1;
	if (!ret) {
		qsort(latencies, (size_t)crossings, sizeof(*latencies), cmp_ll);
		printf("signal crossings=%ld p50_ns=%lld p99_ns=%lld max_ns=%lld\n", crossings,
		       percentile(latencies, (size_t)crossings, 50),
		       percentile(latencies, (size_t)crossings, 99),
		       latencies[crossings - 1]);
	}
	free(latencies);
	return ret;
}

/* ---- victim: the terminator's target ---------------------------------- */

static int victim_log = -1;
static pid_t victim_pid;
static long long victim_cross_ns;	/* set while SIGTERM is blocked; 0 before */

/* Async-signal-safe: clock_gettime and write only. */
static void victim_on_term(int sig)
{
	long long term = now_ns();
	char line[128];
	size_t n = 0;

	(void)sig;
	n += put_field(line + n, "victim pid=", (unsigned long long)victim_pid);
	n += put_field(line + n, " cross_ns=", (unsigned long long)victim_cross_ns);
	n += put_field(line + n, " term_ns=", (unsigned long long)term);
	end_line(victim_log, line, n, 0);
}

/* cross_ns = now, with SIGTERM held back so that the handler sees it whole */
static void victim_mark_crossing(void)
{
	sigset_t term, old;

	sigemptyset(&term);
	sigaddset(&term, SIGTERM);
	sigprocmask(SIG_BLOCK, &term, &old);
	victim_cross_ns = now_ns();
	sigprocmask(SIG_SETMASK, &old, NULL);
}

/*
 * How long a victim waits for its killer. Its own alarm, not a watchdog
 * in the bench's shell: the shell then waits for it in wait() and forks
 * nothing while the killer reacts, where a loop of sleeps would exec
 * one every 50 ms, and in a TCG guest each exec holds the other vCPU
 * back (docs/benchmarks.md, "The bench's own monitor").
 */
#define VICTIM_WAIT_S 20

/* Log a refused mmap (errno @err) and return the victim's exit status. */
static int victim_refused(int err)
{
	char line[128];
	sigset_t term;
	int n;

	sigemptyset(&term);
	sigaddset(&term, SIGTERM);
	sigprocmask(SIG_BLOCK, &term, NULL);
	n = snprintf(line, sizeof(line), "victim pid=%d cross_ns=%lld refused errno=%s\n",
		     (int)victim_pid, victim_cross_ns, errname(err));
	if (write(victim_log, line, (size_t)n) < 0)
		perror("lmwbench: victim log");
	return 1;
}

static int cmd_victim(long below_kb, long past_kb, const char *log_path)
{
	struct sigaction sa = { .sa_handler = victim_on_term };
	char *p;
	int err;

	victim_pid = getpid();
	victim_log = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (victim_log < 0) {
		perror("lmwbench: victim log");
		return 2;
	}
	err = write_text("/proc/self/oom_score_adj", "1000\n");
	if (err) {
		fprintf(stderr, "lmwbench: victim: oom_score_adj: %s\n", strerror(-err));
		return 1;
	}
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	alarm(VICTIM_WAIT_S);
	/*
	 * Real RSS, page by page rather than with MAP_POPULATE: a populating
	 * mmap holds a SIGTERM back until it is done, and term_ns would then
	 * tell how long the populating took, not when the killer struck.
	 */
	if (below_kb > 0) {
		p = map_anon((size_t)below_kb * KB, 0);
		if (p == MAP_FAILED)
			return victim_refused(errno);
		touch_pages(p, (size_t)below_kb * KB, 0x5a);
	}
	victim_mark_crossing();
	p = map_anon((size_t)past_kb * KB, 0);	/* the commitment that crosses */
	if (p == MAP_FAILED)
		return victim_refused(errno);
	touch_pages(p, (size_t)past_kb * KB, 0x5a);
	for (;;)
		pause();
}

/* ---- heartbeat: a periodic task under stress -------------------------- */

static int cmd_heartbeat(long interval_ms, long seconds, const char *out_path)
{
	static char out_buf[64 * 1024];	/* no allocation once running */
	long long interval = interval_ms * MS, start, end, target, woke, late, flushed;
	size_t max_samples = (size_t)(seconds * 1000 / interval_ms) + 1, n = 0;
	long long *samples;
	struct timespec ts;
	long k = 1, missed = 0;
	FILE *out;
	int err;

	samples = malloc(max_samples * sizeof(*samples));
	if (!samples) {
		perror("lmwbench: heartbeat: samples");
		return 1;
	}
	out = fopen(out_path, "ae");
	if (!out) {
		fprintf(stderr, "lmwbench: heartbeat: %s: %m\n", out_path);
		return 1;
	}
	memset(samples, 0, max_samples * sizeof(*samples));	/* touched beforehand */
	setvbuf(out, out_buf, _IOFBF, sizeof(out_buf));
	catch_stop();
	start = now_ns();
	end = start + seconds * SEC;
	flushed = start;
	while (!stop_signal) {
		target = start + k * interval;
		if (target > end)
			break;
		ts = timespec_of(target);
		err = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
		if (err == EINTR)
			continue;
		if (err) {
			fprintf(stderr, "lmwbench: heartbeat: clock_nanosleep: %s\n",
				strerror(err));
			return 1;
		}
		woke = now_ns();
		late = woke - target;
		if (n < max_samples)
			samples[n++] = late;
		fprintf(out, "t_ms=%.3f late_us=%lld\n", (double)(woke - start) / MS,
			late / 1000);
		if (woke - flushed >= SEC) {
			fflush(out);
			flushed = woke;
		}
		/* more than a whole interval late: on to the next target ahead */
		k++;
		if (start + k * interval <= woke) {
			long next = (long)((woke - start) / interval) + 1;

			missed += next - k;
			k = next;
		}
	}
	fclose(out);
	qsort(samples, n, sizeof(*samples), cmp_ll);
	printf("heartbeat samples=%zu p50_us=%lld p99_us=%lld max_us=%lld missed=%ld\n", n,
	       percentile(samples, n, 50) / 1000, percentile(samples, n, 99) / 1000,
	       n ? samples[n - 1] / 1000 : 0, missed);
	free(samples);
	return stop_status();
}

/* ---- service: a protected task that keeps its working set in use ------- */

static int cmd_service(long kb, long seconds)
{
	size_t len = (size_t)kb * KB;
	long long end, target;
	struct timespec ts;
	long rounds = 0;
	char *p;

	p = map_anon(len, MAP_POPULATE);
	if (p == MAP_FAILED) {
		printf("service kb=%ld refused errno=%s\n", kb, errname(errno));
		return 1;
	}
	catch_stop();
	target = now_ns();
	end = target + seconds * SEC;
	while (!stop_signal) {
		target += 100 * MS;
		if (target > end)
			break;
		ts = timespec_of(target);
		if (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL))
			continue;	/* EINTR: the loop checks why */
		touch_pages(p, len, (char)rounds);
		rounds++;
		if (now_ns() > target + 100 * MS)
			target = now_ns();	/* a slow round: no burst to catch up */
	}
	printf("service kb=%ld rounds=%ld\n", kb, rounds);
	return stop_status();
}

/* ---- hog: a leak that grows until stopped ----------------------------- */

/* Async-signal-safe: write only. */
static void hog_on_term(int sig)
{
	char line[64];
	size_t n = put_field(line, "hog terminated size_kb=", (unsigned long long)grown_kb);

	(void)sig;
	end_line(STDOUT_FILENO, line, n, 143);
}

/* One unbuffered line on stdout. */
static void say(const char *fmt, ...)
{
	char line[128];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (write(STDOUT_FILENO, line, (size_t)n) < 0)
		exit(3);
}

static bool hog_refusing;		/* the last step was refused */
static long hog_next_report = 16 * 1024;

/* grow(): a line every 16 MiB */
static void hog_granted(long size_kb)
{
	hog_refusing = false;
	if (size_kb < hog_next_report)
		return;
	say("hog size_kb=%ld\n", size_kb);
	while (hog_next_report <= size_kb)
		hog_next_report += 16 * 1024;
}

/* grow(): a line for the first refusal of a run of them */
static void hog_refused(int err, long size_kb)
{
	if (!hog_refusing)
		say("hog refused errno=%s size_kb=%ld\n", errname(err), size_kb);
	hog_refusing = true;
}

static void cmd_hog(long step_kb, long interval_ms, bool touch)
{
	struct sigaction sa = { .sa_handler = hog_on_term };

	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	grow(step_kb, interval_ms, touch, hog_granted, hog_refused);
}

/* ---- storm: a fork storm that keeps its children --------------------- */

#define STORM_FORK_INTERVAL_MS 5

/* Async-signal-safe; the children go with the storm (PR_SET_PDEATHSIG) */
static void storm_on_term(int sig)
{
	(void)sig;
	_exit(143);
}

static int cmd_storm(long kb, long parallel)
{
	struct sigaction sa = { .sa_handler = storm_on_term };
	size_t len = (size_t)kb * KB;
	long alive = 0, born = 0;
	bool refusing = false;
	struct timespec pause_ts = timespec_of(STORM_FORK_INTERVAL_MS * MS);
	pid_t storm = getpid(), child;
	int status;

	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	for (;;) {
		/* reap what ended: refused children exit 1, killed ones by a signal */
		while ((child = waitpid(-1, &status, WNOHANG)) > 0) {
			alive--;
			if (WIFEXITED(status) && WEXITSTATUS(status) && !refusing) {
				say("storm refused errno=ENOMEM alive=%ld\n", alive);
				refusing = true;
			}
		}
		if (alive < parallel) {
			child = fork();
			if (child == 0) {
				prctl(PR_SET_PDEATHSIG, SIGKILL);
				if (getppid() != storm || use_anon(len) == MAP_FAILED)
					_exit(1);
				for (;;)
					pause();
			}
			if (child < 0) {
				if (!refusing)
					say("storm refused errno=%s alive=%ld\n", errname(errno),
					    alive);
				refusing = true;
			} else {
				alive++;
				if (++born % 64 == 0) {
					say("storm alive=%ld\n", alive);
					refusing = false;
				}
			}
		}
		nanosleep(&pause_ts, NULL);
	}
}

/* ---- forkburst: many short-lived children ------------------------------ */

struct burst {
	long alive, failed, killed, refused;
};

/* Reap one child and count how it ended. */
static void reap(struct burst *b)
{
	int status;

	while (wait(&status) < 0) {
		if (errno != EINTR) {
			b->alive = 0;	/* ECHILD: none left after all */
			return;
		}
	}
	b->alive--;
	if (WIFSIGNALED(status))
		b->killed++;
	else if (WEXITSTATUS(status))
		b->refused++;
}

static int cmd_forkburst(long count, long parallel, long kb)
{
	struct burst b = { 0 };
	long long start = now_ns();
	size_t len = (size_t)kb * KB;
	pid_t child;
	long i;

	fflush(stdout);
	for (i = 0; i < count; i++) {
		while (b.alive >= parallel)
			reap(&b);
		child = fork();
		if (child < 0) {
			b.failed++;
			continue;
		}
		if (child == 0) {
			if (!len)
				_exit(0);
			_exit(use_anon(len) == MAP_FAILED);
		}
		b.alive++;
	}
	while (b.alive > 0)
		reap(&b);
	printf("forkburst count=%ld failed=%ld killed=%ld refused=%ld seconds=%.3f\n", count,
	       b.failed, b.killed, b.refused, (double)(now_ns() - start) / SEC);
	return 0;
}

int main(int argc, char **argv)
{
	const char *cmd = subcommand(&argc, &argv);

	if (!cmd)
		return usage();
	if (!strcmp(cmd, "ops") && argc == 4)
		return cmd_ops(argv[2], arg(argv[3], 1));
	if (!strcmp(cmd, "signal") && argc == 3)
		return cmd_signal(arg(argv[2], 1));
	if (!strcmp(cmd, "victim") && argc == 5)
		return cmd_victim(arg(argv[2], 0), arg(argv[3], 1), argv[4]);
	if (!strcmp(cmd, "heartbeat") && argc == 5)
		return cmd_heartbeat(arg(argv[2], 1), arg(argv[3], 1), argv[4]);
	if (!strcmp(cmd, "service") && argc == 4)
		return cmd_service(arg(argv[2], 1), arg(argv[3], 1));
	if (!strcmp(cmd, "hog") && (argc == 4 || (argc == 5 && !strcmp(argv[4], "untouched")))) {
		cmd_hog(arg(argv[2], 1), arg(argv[3], 1), argc == 4);
		return 0;	/* not reached: it grows until stopped */
	}
	if (!strcmp(cmd, "storm") && argc == 4)
		return cmd_storm(arg(argv[2], 1), arg(argv[3], 1));
	if (!strcmp(cmd, "forkburst") && argc == 5)
		return cmd_forkburst(arg(argv[2], 1), arg(argv[3], 1), arg(argv[4], 0));
	return usage();
}
