#!/bin/sh
# The poll() waiter's path, traced: where the time goes from the crossing
# to the waiter running, crossing by crossing.
#
#   signal-trace.sh CROSSINGS
#
# Runs lmwbench signal (the waiter and the crosser of latency.py's poll
# figure) under ftrace, with the events that mark each step: the
# crosser's mmap (the crossing), the wake-up that lmw.ko's irq_work
# issues (sched_waking of the waiter), the wake-up taking effect on the
# waiter's CPU (sched_wakeup: across vCPUs, after an IPI), the waiter
# switched in (sched_switch), and the crosser's munmap once the waiter has
# reported (a crossing with no wake-up before it found the waiter awake). signal-trace.py reads the trace and prints
# one "path" record a crossing. The tracing costs time of its own: this
# is a second run, for the breakdown, not the figure. Tracing is put back
# as it was found: off, no events, an empty buffer.
set -u

crossings=$1
here=$(dirname "$0")
T=/sys/kernel/tracing
EVENTS="sched/sched_waking sched/sched_wakeup sched/sched_switch syscalls/sys_enter_mmap
	syscalls/sys_enter_munmap"

[ -e $T/trace ] || mount -t tracefs nodev $T 2>/dev/null
if [ ! -e $T/trace ]; then
	echo "signal-trace.sh: no tracefs in this kernel" >&2
	exit 1
fi
reset() {
	echo 0 >$T/tracing_on
	for e in $EVENTS; do echo 0 >"$T/events/$e/enable"; done
	echo >$T/trace
}
trap reset EXIT
reset
# CLOCK_MONOTONIC, as lmwbench's own figures
echo mono >$T/trace_clock
echo 8192 >$T/buffer_size_kb
for e in $EVENTS; do
	echo 1 >"$T/events/$e/enable" || { echo "signal-trace.sh: no event $e" >&2; exit 1; }
done
modprobe lmw
systemctl stop lmw-terminator
echo 1 >$T/tracing_on
lmwbench signal "$crossings" >/dev/null
rc=$?
echo 0 >$T/tracing_on
systemctl start lmw-terminator
[ "$rc" = 0 ] || exit "$rc"
python3 "$here/signal-trace.py" <$T/trace
