/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Copyright (c) 2026 The meta-lmw authors
 *
 * What lmwtest and lmwbench, the guest-side helpers of the tests and of
 * "make bench", have in common: the start of main() (usage, the -u UID
 * privilege drop), committing and touching memory, the leak that grows
 * until stopped (lmwtest grow, lmwbench hog), time, errno names and lmw's
 * sysfs files. Shared so that the two behave alike where they do the same
 * thing, and each piece of it is written once.
 *
 * Every function is static: each program is one file, built on its own,
 * with no library to link. Define _GNU_SOURCE and PROG, the program's name
 * (it starts every message), before including this header:
 *
 *	#define _GNU_SOURCE
 *	#define PROG "lmwtest"
 */
#ifndef LMWHELPERS_H
#define LMWHELPERS_H

#ifndef PROG
#error "define PROG, the program's name, before including this header"
#endif

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define KB 1024UL
#define MS 1000000LL		/* in ns */
#define SEC 1000000000LL	/* in ns */
#define LMW_DIR "/sys/kernel/lmw/watermark/"
#define STATE_FILE LMW_DIR "state"

/* ---- time ------------------------------------------------------------- */

/* CLOCK_MONOTONIC in ns: comparable between processes. */
static inline long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * SEC + ts.tv_nsec;
}

static inline struct timespec timespec_of(long long ns)
{
	struct timespec ts = { ns / SEC, ns % SEC };

	return ts;
}

/* ---- errors and arguments --------------------------------------------- */

/* The errno's name ("ENOMEM"), as the tests expect it. */
static inline const char *errname(int err)
{
	const char *name = strerrorname_np(err);

	return name ? name : "unknown";
}

/* "PROG: @what: <errno's text>" on stderr, then exit 2: set-up failed. */
static inline void fail(const char *what)
{
	fprintf(stderr, PROG ": %s: %s\n", what, strerror(errno));
	exit(2);
}

static inline int usage(void)
{
	fprintf(stderr, PROG ": bad arguments, see the comment at the top of " PROG ".c\n");
	return 2;
}

/* A decimal argument of at least @min; anything else is a usage error. */
static inline long arg(const char *text, long min)
{
	char *end;
	long value;

	errno = 0;
	value = strtol(text, &end, 10);
	if (errno || end == text || *end || value < min) {
		fprintf(stderr, PROG ": %s: want a number >= %ld\n", text, min);
		exit(2);
	}
	return value;
}

/*
 * -u UID: become that uid, with the gid of the same number, no
 * supplementary groups and (as setuid() leaves a root process that becomes
 * another user) no capabilities. Checked, down to the saved ids and that
 * root cannot be had back: a test that believes it runs unprivileged must
 * not run as root. Any failure ends the program (exit 2).
 */
static inline void drop_to(const char *uid_text)
{
	long value = arg(uid_text, 0);
	uid_t uid = (uid_t)value, ruid, euid, suid;
	gid_t rgid, egid, sgid;

	if ((long)uid != value || uid == (uid_t)-1) {
		fprintf(stderr, PROG ": %s: not a uid\n", uid_text);
		exit(2);
	}
	if (setgroups(0, NULL))
		fail("dropping privileges: setgroups");
	if (setgid(uid))
		fail("dropping privileges: setgid");
	if (setuid(uid))
		fail("dropping privileges: setuid");
	if (getresuid(&ruid, &euid, &suid) || getresgid(&rgid, &egid, &sgid))
		fail("dropping privileges: reading the ids");
	if (ruid != uid || euid != uid || suid != uid ||
	    rgid != uid || egid != uid || sgid != uid) {
		fprintf(stderr, PROG ": dropping privileges: still uid %u/%u/%u gid %u/%u/%u\n",
			ruid, euid, suid, rgid, egid, sgid);
		exit(2);
	}
	if (uid && !setuid(0)) {
		fprintf(stderr, PROG ": dropping privileges: uid 0 could be had back\n");
		exit(2);
	}
	/*
	 * setuid() made the process non-dumpable, which leaves /proc/self
	 * owned by root: unlike a process the user started, it could not
	 * write its own files there (lmwbench victim: oom_score_adj).
	 */
	if (prctl(PR_SET_DUMPABLE, 1))
		fail("dropping privileges: PR_SET_DUMPABLE");
}

/*
 * The start of main(): stdout line-buffered (a test reads each key=value
 * line as it comes), then "-u UID" taken off the arguments and acted on.
 * Returns the subcommand's name (*@argv)[1], or NULL when there is none.
 */
static inline const char *subcommand(int *argc, char ***argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (*argc > 2 && !strcmp((*argv)[1], "-u")) {
		drop_to((*argv)[2]);
		*argv += 2;
		*argc -= 2;
	}
	return *argc < 2 ? NULL : (*argv)[1];
}

/* ---- files ------------------------------------------------------------ */

/* Read a small text file into @buf (newline stripped); 0 or -errno. */
static inline int read_text(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;
	int err;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, size - 1);
	err = errno;
	close(fd);
	if (n < 0)
		return -err;
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

/* Write @text to @path in one write(); 0 or -errno. */
static inline int write_text(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;
	int err;

	if (fd < 0)
		return -errno;
	n = write(fd, text, strlen(text));
	err = errno;
	close(fd);
	return n < 0 ? -err : 0;
}

/* A figure of lmw's sysfs directory, such as committed_kb; 0 or -errno. */
static inline int read_lmw_kb(const char *name, long *kb)
{
	char path[96], text[32];
	int err;

	snprintf(path, sizeof(path), LMW_DIR "%s", name);
	err = read_text(path, text, sizeof(text));
	if (!err)
		*kb = atol(text);
	return err;
}

/*
 * Read the state (normal, notify...) at offset 0 of the open state file
 * @fd, which arms the next poll(POLLPRI); 0 or -errno (@state then empty).
 */
static inline int read_state(int fd, char *state, size_t size)
{
	ssize_t n = pread(fd, state, size - 1, 0);

	if (n < 0) {
		state[0] = '\0';
		return -errno;
	}
	state[n] = '\0';
	state[strcspn(state, "\n")] = '\0';
	return 0;
}

/* ---- memory ----------------------------------------------------------- */

/* Commit @len of private anonymous memory (plus @flags); MAP_FAILED or it. */
static inline void *map_anon(size_t len, int flags)
{
	return mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | flags,
		    -1, 0);
}

/* Commit @len and write all of it (real RSS); MAP_FAILED (errno set) or it. */
static inline void *use_anon(size_t len)
{
	void *p = map_anon(len, 0);

	if (p != MAP_FAILED)
		memset(p, 0x5a, len);
	return p;
}

/* How far grow() has got, in kB: for a signal handler to report. */
static atomic_long grown_kb;

/*
 * A leak that grows until stopped (lmwtest grow, lmwbench hog): commit and
 * touch @step_kb more every @interval_ms (absolute targets; when behind, no
 * burst to catch up), then call @granted with the size reached, or
 * @refused with the errno and the size so far (it keeps trying). With
 * @touch false it only commits: memory promised, never resident. Never
 * returns: a signal ends it.
 */
static inline void grow(long step_kb, long interval_ms, bool touch,
			void (*granted)(long size_kb), void (*refused)(int err, long size_kb))
{
	size_t len = (size_t)step_kb * KB;
	long long target = now_ns();
	struct timespec ts;

	for (;;) {
		if ((touch ? use_anon(len) : map_anon(len, 0)) == MAP_FAILED) {
			refused(errno, grown_kb);
		} else {
			grown_kb += step_kb;
			granted(grown_kb);
		}
		target += interval_ms * MS;
		if (target < now_ns())
			target = now_ns();	/* behind: no burst to catch up */
		ts = timespec_of(target);
		clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
	}
}

#endif /* LMWHELPERS_H */
