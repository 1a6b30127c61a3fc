// SPDX-License-Identifier: MIT
/*
 * lmw-lowmem-cache: an application that keeps a cache, and gives it back
 * when lmw.ko says that memory runs low. The example of the sysfs signal.
 *
 * Copyright (c) 2026 The meta-lmw authors
 *
 * The signal is one file, /sys/kernel/lmw/watermark/state. It reads
 * "normal", "notify" or "deny", and poll() reports POLLPRI and POLLERR on
 * it at every change of state, as on any sysfs file that notifies. Anyone
 * may read it. The pattern:
 *
 *   1. open the file and read it once: poll() waits for a change after
 *      the last read;
 *   2. poll() for POLLPRI, with no timeout: no wake-up while memory is
 *      fine, so the application costs nothing at rest;
 *   3. on each event, lseek() back to 0 and read the state again. Several
 *      changes may have come since; act on the state as it is now.
 *
 * "notify" means committed memory is past the notify watermark: the
 * device's protector will soon stop someone, maybe this process. Give back
 * what can be rebuilt: caches, pools, buffers. munmap() (or free() of a
 * large block) returns the commitment at once. "deny" means that
 * unprivileged commitments are refused now: an allocation fails with
 * ENOMEM. "normal" means the danger is over; a cache grows again as it
 * is used, not all at once (that would cross the line again).
 *
 * Usage: lmw-lowmem-cache CACHE_KB
 *   Fills a cache of CACHE_KB, then waits for the signal until it is
 *   stopped. One line per event on standard output, key=value.
 * Exit status: 0 on SIGTERM or SIGINT (taken through a signalfd, in the
 * same poll()), 1 when lmw.ko is not loaded or a call fails, 2 on a bad
 * argument.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <unistd.h>

#define STATE_FILE "/sys/kernel/lmw/watermark/state"

struct cache {
	void *data;
	size_t bytes;
};

/* The state now: "normal", "notify" or "deny" into @buf; -1 on error. */
static int read_state(int fd, char *buf, size_t size)
{
	ssize_t n;

	if (lseek(fd, 0, SEEK_SET) < 0)
		return -1;
	n = read(fd, buf, size - 1);
	if (n < 0)
		return -1;
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

static int fill(struct cache *cache, size_t bytes)
{
	cache->data = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (cache->data == MAP_FAILED) {
		cache->data = NULL;
		return -1;
	}
	memset(cache->data, 0x5a, bytes);	/* a cache in use: touched */
	cache->bytes = bytes;
	return 0;
}

/* Give the whole cache back; how many kB that was. */
static size_t drop(struct cache *cache)
{
	size_t kb = cache->bytes / 1024;

	if (!cache->data)
		return 0;
	munmap(cache->data, cache->bytes);
	cache->data = NULL;
	cache->bytes = 0;
	return kb;
}

int main(int argc, char **argv)
{
	/* [0]: the state, [1]: SIGTERM and SIGINT, taken as a file (signalfd) */
	struct pollfd pfd[2] = { { .events = POLLPRI }, { .events = POLLIN } };
	struct cache cache = { NULL, 0 };
	char state[16], *end;
	unsigned long kb;
	sigset_t stop;

	if (argc != 2) {
		fprintf(stderr, "usage: %s CACHE_KB\n", argv[0]);
		return 2;
	}
	errno = 0;
	kb = strtoul(argv[1], &end, 10);
	if (errno || *end || !kb || kb > (unsigned long)SSIZE_MAX / 1024) {
		fprintf(stderr, "%s: CACHE_KB must be a positive number of kB, not '%s'\n",
			argv[0], argv[1]);
		return 2;
	}
	sigemptyset(&stop);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGINT);
	sigprocmask(SIG_BLOCK, &stop, NULL);
	pfd[1].fd = signalfd(-1, &stop, SFD_CLOEXEC);
	if (pfd[1].fd < 0) {
		perror("signalfd");
		return 1;
	}

	pfd[0].fd = open(STATE_FILE, O_RDONLY | O_CLOEXEC);
	if (pfd[0].fd < 0) {
		fprintf(stderr, "%s: %s: %s (is lmw.ko loaded?)\n", argv[0], STATE_FILE,
			strerror(errno));
		return 1;
	}
	if (fill(&cache, kb * 1024) < 0) {
		perror("mmap");
		return 1;
	}
	if (read_state(pfd[0].fd, state, sizeof(state)) < 0) {
		perror(STATE_FILE);
		return 1;
	}
	printf("ready cache_kb=%lu state=%s\n", kb, state);
	fflush(stdout);

	for (;;) {
		if (poll(pfd, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			perror("poll");
			return 1;
		}
		if (pfd[1].revents)
			break;		/* SIGTERM or SIGINT */
		if (read_state(pfd[0].fd, state, sizeof(state)) < 0) {
			perror(STATE_FILE);
			return 1;
		}
		if (strcmp(state, "normal") != 0)
			printf("state=%s freed_kb=%zu\n", state, drop(&cache));
		else
			printf("state=%s\n", state);
		fflush(stdout);
	}
	drop(&cache);
	close(pfd[0].fd);
	close(pfd[1].fd);
	return 0;
}
