#!/bin/sh
# Reaction time, in the guest: from the moment memory crosses the line a
# killer watches to the SIGTERM it sends its victim.
#
#   reaction.sh KILLER CROSSINGS
#
# KILLER is lmw-terminator (the line: lmw.ko's notify watermark, crossed by
# a commitment), lmw-terminator-ordinary (the same daemon as an ordinary
# process, realtime_priority 0), lmw-terminator-monitor-stopped (the same
# daemon with lmw-memory-monitor stopped, which the crossing would wake
# too), lmw-terminator-uevents-on (the same daemon, lmw.ko sending a
# uevent at each change of state: its parameter uevents=Y, off as
# installed) or earlyoom (the line: its available-memory minimum, -M,
# crossed by touched memory; lmw.ko's lines are off, so the monitor never
# wakes).
# Each crossing is one lmwbench victim (oom_score_adj 1000, so it is either
# killer's choice), started after a random pause (pause()), in two parts:
# what keeps it under the line, touched, then the crossing, PAST_PCT of
# RAM, touched after the crossing. The work
# after the crossing, which the victim does while the killer reacts, is
# the same for both. For lmw-terminator the line is lmw.ko's notify line,
# the first part stays BELOW_MARGIN_PCT of RAM under it and the crossing
# is the second part's mmap (which ends PAST_PCT - BELOW_MARGIN_PCT past
# the line); for earlyoom the first part puts MemAvailable at its line,
# and the second part's first touches cross it. In its SIGTERM handler
# the victim logs when the signal came (CLOCK_MONOTONIC, comparable across
# processes). lmw-terminator runs with no warning grace and no pause
# between kills, earlyoom with its defaults but the line: the figure is
# each one's reaction, not its configured patience. For lmw-terminator,
# its own account of each reaction follows (the "reaction:" lines of its
# log, as "profile" records). Everything is restored after.
set -u

# The bench's own processes start without address randomization
# (setarch -R: the victims, cat, sleep, and earlyoom, which this script
# starts; the terminator is systemd's and keeps it). QEMU keeps the host
# code it translated by the guest code's address, and a process whose
# libraries land at new addresses has all of them translated anew: the
# few processes that each crossing starts filled QEMU's buffer of
# translations about once every 100 crossings, and whichever reaction
# came next ran at a fraction of its speed while the guest's code was
# translated again (scripts/lmwtools/bench/qemu.py).
if [ -z "${LMW_BENCH_FIXED_LAYOUT:-}" ]; then
	LMW_BENCH_FIXED_LAYOUT=1 exec setarch -R sh "$0" "$@"
fi

killer=$1
crossings=$2
lmw=/sys/kernel/lmw/watermark
config=/etc/lmw/terminator.toml
log=/tmp/lmwbench-victims.log
earlyoom_pid=
monitor_stopped=
uevents_parameter=/sys/module/lmw/parameters/uevents
uevents_was=

restore() {
	[ -n "$earlyoom_pid" ] && kill "$earlyoom_pid" 2>/dev/null && wait "$earlyoom_pid"
	[ -f "$config.bench-saved" ] && mv "$config.bench-saved" "$config"
	sysctl -q -p /etc/sysctl.d/90-lmw.conf
	systemctl restart lmw-terminator
	[ -n "$monitor_stopped" ] && systemctl start lmw-memory-monitor
	[ -n "$uevents_was" ] && echo "$uevents_was" >"$uevents_parameter"
}
trap restore EXIT

available_kb() { awk '$1 == "MemAvailable:" { print $2 }' /proc/meminfo; }

modprobe lmw
case $killer in
lmw-terminator | lmw-terminator-ordinary | lmw-terminator-monitor-stopped | \
	lmw-terminator-uevents-on)
	# -ordinary: the daemon as an ordinary process at nice -20, as it ran
	# before it made itself SCHED_FIFO (realtime_priority 0)
	priority=1
	[ "$killer" = lmw-terminator-ordinary ] && priority=0
	if [ "$killer" = lmw-terminator-monitor-stopped ]; then
		if ! systemctl is-active --quiet lmw-memory-monitor; then
			echo "reaction.sh: lmw-memory-monitor is not running: nothing to stop" >&2
			exit 2
		fi
		systemctl stop lmw-memory-monitor
		monitor_stopped=yes
	fi
	if [ "$killer" = lmw-terminator-uevents-on ]; then
		uevents_was=$(cat "$uevents_parameter") || exit 2
		echo Y >"$uevents_parameter"
	fi
	cp "$config" "$config.bench-saved"
	cat >"$config" <<-EOF2
	[warn]
	signal = ""
	grace_ms = 0
	[kill]
	term_grace_ms = 1000
	min_interval_ms = 0
	realtime_priority = $priority
	EOF2
	systemctl restart lmw-terminator ;;
earlyoom)
	systemctl stop lmw-terminator
	sysctl -q vm.lowmem_notify_watermark=0 vm.lowmem_deny_watermark=0 ;;
*)
	echo "reaction.sh: unknown killer $killer" >&2; exit 2 ;;
esac
sleep 2
started=$(date +%s)

committed=$(cat $lmw/committed_kb)
total=$(cat $lmw/totalram_kb)
notify=$((committed * 100 / total + 4))
if [ "$killer" != earlyoom ]; then
	sysctl -q vm.lowmem_deny_watermark=1000 vm.lowmem_notify_watermark=$notify
fi
notify_kb=$((total * notify / 100))
echo "setup killer=$killer committed_kb=$committed notify_pct=$notify notify_kb=$notify_kb"

PAST_PCT=3
BELOW_MARGIN_PCT=1
past_kb=$((total * PAST_PCT / 100))

# earlyoom's line is set once, EARLYOOM_MARGIN_PCT of RAM below what is
# available at rest; each victim's first part then puts MemAvailable at
# that line. The margin is wide because earlyoom acts on whatever crosses:
# at a line near the resting figure, the drift of MemAvailable between
# victims (an exiting victim, the journal) would make it kill the shell
# that runs the bench.
EARLYOOM_MARGIN_PCT=8
below_kb() {
	# from what is committed or available now, not at setup: what the
	# system holds moves (the terminator's restart, its config child,
	# caches), and a victim sized for an old baseline may cross early or
	# never
	if [ "$killer" != earlyoom ]; then
		kb=$((notify_kb - $(cat $lmw/committed_kb) - total * BELOW_MARGIN_PCT / 100))
	else
		kb=$(($(available_kb) - line_kb))
	fi
	[ "$kb" -lt 0 ] && kb=0
	echo "$kb"
}
if [ "$killer" = earlyoom ]; then
	line_kb=$(($(available_kb) - total * EARLYOOM_MARGIN_PCT / 100))
	earlyoom -r 0 -M "$line_kb" >/tmp/lmwbench-earlyoom.log 2>&1 &
	earlyoom_pid=$!
	sleep 2
	echo "setup earlyoom_line_kb=$line_kb"
fi

settle() {
	n=0
	if [ "$killer" != earlyoom ]; then
		while [ "$(cat $lmw/state)" != normal ] && [ "$n" -lt 200 ]; do
			sleep 0.05; n=$((n + 1))
		done
	else
		while [ "$(available_kb)" -lt $((line_kb + total * (EARLYOOM_MARGIN_PCT - 2) / 100)) ] &&
			[ "$n" -lt 200 ]; do
			sleep 0.05; n=$((n + 1))
		done
	fi
}

# A pause drawn anew before each victim, 0 to PAUSE_MAX_MS - 1 ms: the
# crossing then comes at any moment of a polling killer's cycle (earlyoom
# reads memory every 100 ms near its line). Without it the bench's own
# cadence, each victim of the same size started right after the last one
# was stopped, put the crossings at nearly one moment of that cycle, and
# earlyoom's figure told where that moment fell (docs/benchmarks.md,
# "earlyoom in step with the bench"). Under 1000, so "0.NNN" s.
PAUSE_MAX_MS=200
pause() {
	ms=$(($(od -An -N2 -tu2 /dev/urandom) % PAUSE_MAX_MS))
	sleep "0.$(printf %03d "$ms")"
}

: >"$log"
i=0
while [ "$i" -lt "$crossings" ]; do
	settle    # each crossing starts from below the line, as a fresh episode
	pause
	lmwbench victim "$(below_kb)" "$past_kb" "$log" &
	victim=$!
	# Waited for in wait(): nothing of the bench's forks or execs while the
	# killer reacts (under TCG an exec holds the other vCPU back). A victim
	# nobody stops ends itself after 20 s (SIGALRM, exit status 142): a
	# failure of the chain.
	wait "$victim"
	[ $? -eq 142 ] && echo "timeout crossing=$i"
	i=$((i + 1))
done
cat "$log"
if [ "$killer" = earlyoom ]; then
	# anything but a victim that earlyoom signalled: the run is not clean
	# ('sending SIGTERM to process 564 uid 0 "lmwbench": badness ...')
	sed -n 's/^sending SIG[A-Z]* to process \([0-9]*\) uid [0-9]* "\(.*\)": badness.*/\1 \2/p' \
		/tmp/lmwbench-earlyoom.log | while read -r pid name; do
		[ "$name" = lmwbench ] || echo "stray killer=earlyoom pid=$pid name=$name"
	done
fi
if [ "$killer" != earlyoom ]; then
	# "reaction: SIGTERM 12.3 ms after the wake-up; choice 8.1 ms over 97
	# processes (/proc); woke at 123.456789 s", or "(lmw.ko's candidates)":
	# from=/proc or from=lmw; woke_s (CLOCK_MONOTONIC, as the victims'
	# records) from 1.8.1 on; from 1.9.1, "; 0.6 ms waiting for the
	# crossing to be accounted" before "; woke at" when the daemon waited;
	# from 1.11.8, ", 7.9 ms of it running" (the daemon's CPU time) after
	# the source
	head='^reaction: SIGTERM \([0-9.]*\) ms after the wake-up; choice \([0-9.]*\) ms over \([0-9]*\) processes (\([a-z/]*\)'
	record='profile term_ms=\1 choice_ms=\2 processes=\3 from=\4'
	running='[^,;]*, \([0-9.]*\) ms of it running'
	waited='; \([0-9.]*\) ms waiting for the crossing to be accounted'
	journalctl -q -u lmw-terminator -o cat --since "@$started" |
		sed -n -e "s|${head}$running$waited; woke at \([0-9.]*\) s\$|$record running_ms=\5 accounted_ms=\6 woke_s=\7|p; t" \
			-e "s|${head}$running; woke at \([0-9.]*\) s\$|$record running_ms=\5 woke_s=\6|p; t" \
			-e "s|${head}[^;]*$waited; woke at \([0-9.]*\) s\$|$record accounted_ms=\5 woke_s=\6|p; t" \
			-e "s|${head}[^;]*; woke at \([0-9.]*\) s\$|$record woke_s=\5|p; t" \
			-e "s|$head.*|$record|p"
	# kills that came after a hold-back in their episode: a turn that found
	# memory back under the line ("memory back to normal before the kill")
	# and looked again 100 ms later, as a read of committed memory that
	# comes before the crossing is accounted makes it (the hold-backs after
	# a kill, while lmw.ko's state lags, delay no victim and are not counted)
	journalctl -q -u lmw-terminator -o cat --since "@$started" | awk '
		/^low memory/ { held = 0 }
		/back to normal before the kill/ { held = 1 }
		/^terminate / { if (held) n++; held = 0 }
		END { print "holdbacks count=" n + 0 }'
fi
