#!/bin/sh
# The standard stress of `make bench`, in the guest, one scenario per run:
#
#   stress.sh SCENARIO SECONDS
#
# SCENARIO is how the guest is protected: none, strict (vm.overcommit_memory=2,
# commit limit = RAM), earlyoom, earlyoom-tuned, nohang, lmw (lmw.ko with the
# layer's sysctl defaults + lmw-terminator, default config), lmw-tuned (the
# same, told what earlyoom-tuned is told: no warning grace, prefer the hog,
# protect the services). The workload is the same in each:
#   lmwbeat   a heartbeat: wakes every 10 ms and logs how late it woke
#   lmwsvc    two services of 32 MiB each that keep touching their memory
#   lmwhog    an unprivileged leak: 8 MiB every 100 ms until something stops it
#   forks     a fork-heavy burst (200 children, 8 at a time) once the hog is at 128 MiB
# A monitor samples Committed_AS and MemAvailable every 100 ms. The run ends
# when the hog has gone and committed memory is back under the notify line
# (90% of RAM, the layer's default, the same yardstick for every scenario),
# or after SECONDS. Output: key=value lines for the host (bench/stress.py).
# Runs as root; the workload runs as nobody.
set -u

scenario=$1
seconds=$2
work=/tmp/lmwbench
nobody=65534
rm -rf "$work" && mkdir -p "$work" && chmod 777 "$work"
# one name per role, so that a killer's log and a --prefer/--avoid regex see it
for name in lmwbeat lmwsvc lmwhog lmwfork; do
	ln -s /usr/bin/lmwbench "$work/$name"
done

meminfo() { awk -v key="$1:" '$1 == key { print $2 }' /proc/meminfo; }
oom_kills() { awk '$1 == "oom_kill" { print $2 }' /proc/vmstat; }
now_ms() { awk '{ printf "%d\n", $1 * 1000 }' /proc/uptime; }

total_kb=$(meminfo MemTotal)
notify_kb=$((total_kb * 90 / 100))

# -- protection ------------------------------------------------------------
config=/etc/lmw/terminator.toml
reset_protection() {
	systemctl stop lmw-terminator 2>/dev/null
	[ -f "$config.bench-saved" ] && mv "$config.bench-saved" "$config"
	pkill -x earlyoom; pkill -f /usr/sbin/nohang
	sysctl -q vm.overcommit_memory=0 vm.overcommit_ratio=50
	if grep -q '^lmw ' /proc/modules; then
		sysctl -q vm.lowmem_notify_watermark=0 vm.lowmem_deny_watermark=0
		rmmod lmw
	fi
}

reset_protection
case $scenario in
none) ;;
strict) sysctl -q vm.overcommit_ratio=100 vm.overcommit_memory=2 ;;
earlyoom) earlyoom -r 0 >"$work/daemon.log" 2>&1 & ;;
earlyoom-tuned)
	earlyoom -r 0 -m 15,8 --prefer '^lmwhog$' --avoid '^(lmwsvc|lmwbeat)$' \
		>"$work/daemon.log" 2>&1 & ;;
nohang) /usr/sbin/nohang --monitor --config /etc/nohang/nohang.conf >"$work/daemon.log" 2>&1 & ;;
lmw | lmw-tuned)
	if [ "$scenario" = lmw-tuned ]; then
		cp "$config" "$config.bench-saved"
		cat >"$config" <<-'EOF'
		[warn]
		grace_ms = 0
		[[prefer]]
		comm = "^lmwhog$"
		adjust = 300
		[[protect]]
		comm = "^(lmwsvc|lmwbeat)$"
		EOF
	fi
	modprobe lmw
	sysctl -q -p /etc/sysctl.d/90-lmw.conf
	systemctl start lmw-terminator ;;
*) echo "stress.sh: unknown scenario $scenario" >&2; exit 2 ;;
esac
sleep 2    # the daemon reads its config and sets up its source

# -- workload ----------------------------------------------------------------
# run NAME CMD...: in the background; its exit status lands in $work/NAME.status
run() {
	name=$1; shift
	( "$@" >"$work/$name.out" 2>&1; echo $? >"$work/$name.status" ) &
}

oom_before=$(oom_kills)
start_ms=$(now_ms)
run beat "$work/lmwbeat" -u $nobody heartbeat 10 "$seconds" "$work/beat.samples"
run svc1 "$work/lmwsvc" -u $nobody service 32768 "$seconds"
run svc2 "$work/lmwsvc" -u $nobody service 32768 "$seconds"
sleep 1
run hog "$work/lmwhog" -u $nobody hog 8192 100

burst_started=
pressure_ms=
back_ms=
: >"$work/monitor"
while :; do
	t=$(($(now_ms) - start_ms))
	committed=$(meminfo Committed_AS)
	available=$(meminfo MemAvailable)
	echo "$t $committed $available" >>"$work/monitor"
	if [ -z "$pressure_ms" ] && [ "$committed" -ge "$notify_kb" ]; then
		pressure_ms=$t
	fi
	if [ -n "$pressure_ms" ] && [ -z "$back_ms" ] && [ -f "$work/hog.status" ] &&
		[ "$committed" -lt "$notify_kb" ]; then
		back_ms=$t
	fi
	if [ -z "$burst_started" ] && grep -q 'size_kb=131072' "$work/hog.out" 2>/dev/null; then
		run burst "$work/lmwfork" -u $nobody forkburst 200 8 1024
		burst_started=$t
	fi
	[ -n "$back_ms" ] && break
	[ "$t" -ge $((seconds * 1000)) ] && break
	sleep 0.1
done

# -- what happened ------------------------------------------------------------
# How each process ended, read before the cleanup stops the rest: a status
# file exists only for a process that ended during the run.
oom_after=$(oom_kills)
end_ms=$(($(now_ms) - start_ms))
for name in hog svc1 svc2 beat burst; do
	status=$(cat "$work/$name.status" 2>/dev/null || echo running)
	echo "process name=$name status=$status $(tail -n 1 "$work/$name.out" 2>/dev/null)"
done
pkill -TERM -f "$work/lmw" 2>/dev/null
sleep 1
pkill -KILL -f "$work/lmw" 2>/dev/null
reset_protection
wait 2>/dev/null

echo "stress scenario=$scenario total_kb=$total_kb notify_kb=$notify_kb" \
	"oom_kills=$((oom_after - oom_before)) pressure_ms=${pressure_ms:-none}" \
	"back_ms=${back_ms:-none} burst_ms=${burst_started:-none} end_ms=$end_ms"
# the heartbeat's lateness over every wake-up
sort -n -t= -k3 "$work/beat.samples" | awk -F'late_us=' '{ v[NR] = $2 }
	END { if (!NR) exit; p99 = int(NR * 0.99); if (p99 < NR * 0.99) p99++  # nearest rank
	      printf "beatstats samples=%d p50_us=%d p99_us=%d max_us=%d\n",
	             NR, v[int((NR + 1) / 2)], v[p99], v[NR] }'
# the heartbeat's lateness: the worst wake-up of each 100 ms
awk '{ split($1, t, "="); split($2, l, "=");
       b = int(t[2] / 100); if (l[2] > m[b]) m[b] = l[2]; if (b > top) top = b }
     END { for (b = 0; b <= top; b++) if (b in m) print "beat t_ms=" b * 100, "late_us=" m[b] }' \
	"$work/beat.samples"
awk '{ print "monitor t_ms=" $1, "committed_kb=" $2, "available_kb=" $3 }' "$work/monitor"
grep -h -i -E 'kill|sigterm|victim' "$work/daemon.log" 2>/dev/null | tail -n 5 |
	sed 's/^/daemon /'
