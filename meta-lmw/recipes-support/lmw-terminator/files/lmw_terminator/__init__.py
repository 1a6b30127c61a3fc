# SPDX-License-Identifier: MIT
# Copyright (c) 2026 The meta-lmw authors
"""lmw-terminator: frees memory before the Low Memory Watermark's deny line is hit.

Standard library only. One concern per module:

- config:  /etc/lmw/terminator.toml, validated into read-only objects
- procs:   the process table, read from /proc
- policy:  which process may be chosen and which is (pure functions)
- pace:    when the next victim may go: the warning's grace, the kill interval, their early end
- sources: the low-memory signal (lmw.ko, PSI trigger, MemAvailable polling)
- killer:  warn, then SIGTERM/SIGKILL through pidfds, process_mrelease
- hooks:   the commands run before and after each kill, the victim in their environment
- cgroups: a victim's service cgroup killed whole (cgroup.kill), and when never
- optin:   the warning opt-in directory, read as hostile input
- service: the main loop and its states; lmwctl: the command-line tool
- supervisor: --respawn, the daemon started again where no init system does
"""

EXIT_OK = 0
EXIT_INTERNAL = 1
EXIT_USER = 2   # bad config, bad argument: the message says what and where
