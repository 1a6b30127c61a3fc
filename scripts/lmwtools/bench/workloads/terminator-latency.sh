#!/bin/sh
# Signal latency of the whole chain, in the guest: from the allocation
# that crosses the notify line to the SIGTERM that lmw-terminator sends
# its victim.
#
#   terminator-latency.sh CROSSINGS
#
# Each crossing is one lmwbench victim (oom_score_adj 1000, so it is the
# terminator's choice) that commits and touches enough to cross notify; it
# logs its crossing time and, in its SIGTERM handler, the time the signal
# arrived (CLOCK_MONOTONIC, comparable across processes). The terminator
# runs with no warning grace and no pause between kills, so the figure is
# its reaction, not its configured patience. Everything is restored after.
set -u

crossings=$1
lmw=/sys/kernel/lmw/watermark
config=/etc/lmw/terminator.toml
log=/tmp/lmwbench-victims.log

restore() {
	[ -f "$config.bench-saved" ] && mv "$config.bench-saved" "$config"
	sysctl -q -p /etc/sysctl.d/90-lmw.conf
	systemctl restart lmw-terminator
}
trap restore EXIT

modprobe lmw
cp "$config" "$config.bench-saved"
cat >"$config" <<EOF
[warn]
signal = ""
grace_ms = 0
[kill]
term_grace_ms = 1000
min_interval_ms = 0
EOF
systemctl restart lmw-terminator
sleep 2

committed=$(cat $lmw/committed_kb)
total=$(cat $lmw/totalram_kb)
notify=$((committed * 100 / total + 4))
sysctl -q vm.lowmem_deny_watermark=1000 vm.lowmem_notify_watermark=$notify
notify_kb=$(cat $lmw/notify_kb)
echo "setup committed_kb=$committed notify_pct=$notify notify_kb=$notify_kb"

: >"$log"
i=0
while [ "$i" -lt "$crossings" ]; do
	# start each crossing from normal, as a fresh episode
	n=0
	while [ "$(cat $lmw/state)" != normal ] && [ "$n" -lt 200 ]; do
		sleep 0.05; n=$((n + 1))
	done
	# sized from what is committed now, not at setup: what the system
	# holds moves (the terminator's restart, its config child, caches),
	# and a victim sized for an old baseline may never cross the line
	victim_kb=$((notify_kb - $(cat $lmw/committed_kb) + total * 2 / 100))
	lmwbench victim "$victim_kb" "$log" &
	victim=$!
	# a victim nobody stops within 20 s is a failure of the chain
	n=0
	while kill -0 "$victim" 2>/dev/null && [ "$n" -lt 400 ]; do
		sleep 0.05; n=$((n + 1))
	done
	if kill -0 "$victim" 2>/dev/null; then
		kill -KILL "$victim"
		echo "timeout crossing=$i"
	fi
	wait "$victim" 2>/dev/null
	i=$((i + 1))
done
cat "$log"
