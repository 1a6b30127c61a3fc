#!/bin/sh
# Footprint at rest, in the guest: lmw-terminator, earlyoom and nohang idle
# side by side for SECONDS.
#
#   footprint.sh SECONDS
#
# Prints "footprint name=N rss_kb=R cpu_ms=C wakeups_per_s=W" per daemon:
# RSS at the end, CPU time (user + system) and context switches (voluntary
# + involuntary, all threads) over the window.
set -u

seconds=$1
hz=$(getconf CLK_TCK)
modprobe lmw
sysctl -q -p /etc/sysctl.d/90-lmw.conf
systemctl restart lmw-terminator
earlyoom -r 0 >/dev/null 2>&1 &
earlyoom=$!
/usr/sbin/nohang --monitor --config /etc/nohang/nohang.conf >/dev/null 2>&1 &
nohang=$!
sleep 5    # past their start-up
terminator=$(systemctl show -p MainPID --value lmw-terminator)

cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
switches() {
	cat /proc/"$1"/task/*/status |
		awk '/^(non)?voluntary_ctxt_switches:/ { n += $2 } END { print n }'
}

start=/tmp/lmwbench-footprint.start
: >"$start"
for daemon in "terminator $terminator" "earlyoom $earlyoom" "nohang $nohang"; do
	# shellcheck disable=SC2086 # "name pid": split on purpose
	set -- $daemon
	echo "$1 $2 $(cpu_ticks "$2") $(switches "$2")" >>"$start"
done
sleep "$seconds"
while read -r name pid cpu0 sw0; do
	cpu=$((($(cpu_ticks "$pid") - cpu0) * 1000 / hz))
	sw=$(($(switches "$pid") - sw0))
	rss=$(awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status")
	echo "footprint name=$name rss_kb=$rss cpu_ms=$cpu" \
		"wakeups_per_s=$(awk -v s="$sw" -v t="$seconds" 'BEGIN { printf "%.2f", s / t }')"
done <"$start"
kill "$earlyoom" "$nohang"
wait 2>/dev/null
