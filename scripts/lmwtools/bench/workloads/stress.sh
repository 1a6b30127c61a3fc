#!/bin/sh
# The stress of `make bench`, in the guest, one scenario and workload per run:
#
#   stress.sh SCENARIO SECONDS [WORKLOAD]
#
# SCENARIO is how the guest is protected: none, strict (vm.overcommit_memory=2,
# commit limit = RAM), earlyoom, earlyoom-tuned, nohang, lmw (lmw.ko with the
# layer's sysctl defaults + lmw-terminator, default config), lmw-tuned (the
# same, told what earlyoom-tuned is told: no warning grace, prefer the
# culprits, protect the services). Every workload has the same bystanders:
#   lmwbeat   a heartbeat: wakes every 10 ms and logs how late it woke
#   lmwsvc    two services of 32 MiB each that keep touching their memory
# and its own culprits, all unprivileged, growing until something stops them.
# WORKLOAD is standard (the default) or one of the harder set:
#   standard    lmwhog, a leak of 8 MiB every 100 ms, and lmwfork, a fork-heavy
#               burst (200 children, 8 at a time) once the hog is at 128 MiB
#   forkstorm   lmwstorm, a fork every 5 ms, each child using 2 MiB and
#               staying, up to 400 at once
#   committers  16 lmwsmall at once, each a leak of 1 MiB every 100 ms
#   untouched   lmwbig, 16 MiB every 100 ms committed and never touched (the
#               trigger is commitment, not residency)
# A monitor (stress-monitor.py, one process that forks nothing in the
# window) samples Committed_AS and MemAvailable every 100 ms, and notes
# three moments: pressure (committed memory past the notify line, 90% of
# RAM, the layer's default and the same yardstick for every scenario), the
# first action (the first refusal a culprit meets, a culprit stopped, or
# the first workload process or kernel OOM kill gone), and memory back
# (after both, committed memory under the notify line again). Every
# scenario runs the whole SECONDS, whenever its protection acts, so that
# each is measured over the same window; the heartbeat is reported for the
# whole window and per phase: before the first action, from it until
# memory is back, after.
# Output: key=value lines for the host (bench/stress.py). Runs as root;
# the workload runs as nobody.
set -u

# The bench's own processes start without address randomization, so
# that QEMU reuses its translations of their code (reaction.sh says why;
# the daemons that systemd starts keep theirs).
if [ -z "${LMW_BENCH_FIXED_LAYOUT:-}" ]; then
	LMW_BENCH_FIXED_LAYOUT=1 exec setarch -R sh "$0" "$@"
fi

scenario=$1
seconds=$2
workload=${3:-standard}
case $workload in
standard | forkstorm | committers | untouched) ;;
*) echo "stress.sh: unknown workload $workload" >&2; exit 2 ;;
esac
work=/tmp/lmwbench
nobody=65534
# Sticky, as /tmp: the workload (nobody) writes its heartbeat's samples
# here, and the bench (root) its records and the monitor's. Without the
# sticky bit a culprit could remove a root file and plant a symlink in its
# place, for root to write through; with it, it cannot remove them, and
# protected_symlinks/protected_regular keep root off what it planted.
rm -rf "$work" && mkdir -p "$work" && chmod 1777 "$work"
# one name per role, so that a killer's log and a --prefer/--avoid regex see it
for name in lmwbeat lmwsvc lmwhog lmwfork lmwstorm lmwsmall lmwbig; do
	ln -s /usr/bin/lmwbench "$work/$name"
done
culprits='^(lmwhog|lmwstorm|lmwsmall|lmwbig)$'
bystanders='^(lmwsvc|lmwbeat)$'

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

# This shell runs in a unit of systemd's (a serial console's getty), and so
# does the workload it starts. A kernel OOM kill of a workload process makes
# systemd stop that unit (OOMPolicy=stop, its default for services): this
# shell and the run's records would go with it, and the host would see a
# guest that no longer answers while it does. For the run, the unit carries
# on, and the kill is counted as what it is.
keep_unit_after_oom_kills() {
	[ -d /run/systemd/system ] || return 0
	unit=$(sed -n 's|^0::.*/||p' /proc/self/cgroup)
	case $unit in *.service) ;; *) return 0 ;; esac
	mkdir -p "/run/systemd/system/$unit.d"
	printf '[Service]\nOOMPolicy=continue\n' >"/run/systemd/system/$unit.d/lmw-bench.conf"
	systemctl daemon-reload
	policy=$(systemctl show -p OOMPolicy --value "$unit")
	if [ "$policy" != continue ]; then
		echo "stress.sh: $unit keeps OOMPolicy=$policy: a kernel OOM kill would end this run" >&2
		exit 2
	fi
}
keep_unit_after_oom_kills

case $scenario in
none) ;;
strict) sysctl -q vm.overcommit_ratio=100 vm.overcommit_memory=2 ;;
earlyoom) earlyoom -r 0 >"$work/daemon.log" 2>&1 & ;;
earlyoom-tuned)
	earlyoom -r 0 -m 15,8 --prefer "$culprits" --avoid "$bystanders" \
		>"$work/daemon.log" 2>&1 & ;;
nohang) /usr/sbin/nohang --monitor --config /etc/nohang/nohang.conf >"$work/daemon.log" 2>&1 & ;;
lmw | lmw-tuned)
	if [ "$scenario" = lmw-tuned ]; then
		cp "$config" "$config.bench-saved"
		# a comm alone is anyone's to take: the protection names the uid too
		cat >"$config" <<-EOF
		[warn]
		grace_ms = 0
		[[prefer]]
		comm = "$culprits"
		adjust = 300
		[[protect]]
		comm = "$bystanders"
		uid = $nobody
		EOF
	fi
	modprobe lmw
	sysctl -q -p /etc/sysctl.d/90-lmw.conf
	systemctl start lmw-terminator ;;
*) echo "stress.sh: unknown scenario $scenario" >&2; exit 2 ;;
esac
sleep 2    # the daemon reads its config and sets up its source

# -- workload ----------------------------------------------------------------
# run NAME CMD...: in the background; its exit status lands in $work/NAME.status,
# and the PID of the subshell that runs it (its only child) in $work/NAME.pid
run() {
	name=$1; shift
	( "$@" >"$work/$name.out" 2>&1; echo $? >"$work/$name.status" ) &
	echo $! >"$work/$name.pid"
}

# the culprits: each a process of its own, named as stress.py reads them
case $workload in
standard) culprit_names=hog ;;
forkstorm) culprit_names=storm ;;
committers) culprit_names=$(seq -f 'small%g' 1 16 | tr '\n' ' ') ;;
untouched) culprit_names=big ;;
esac

# The monitor (stress-monitor.py says what it records) is one process that
# forks nothing: ready before the window opens, started by SIGUSR1 once the
# window's start is written.
# shellcheck disable=SC2086 # one argument a culprit
python3 "${0%/*}/stress-monitor.py" "$work" "$seconds" "$notify_kb" "$workload" \
	$culprit_names >"$work/moments" &
monitor=$!
while [ ! -e "$work/monitor.ready" ]; do
	if ! kill -0 "$monitor" 2>/dev/null; then
		echo "stress.sh: the monitor ended before it was ready" >&2
		exit 2
	fi
	sleep 0.1
done

oom_before=$(oom_kills)
start_ms=$(now_ms)
run beat "$work/lmwbeat" -u $nobody heartbeat 10 "$seconds" "$work/beat.samples"
run svc1 "$work/lmwsvc" -u $nobody service 32768 "$seconds"
run svc2 "$work/lmwsvc" -u $nobody service 32768 "$seconds"
echo "$start_ms $oom_before" >"$work/window"
kill -USR1 "$monitor"
sleep 1
for name in $culprit_names; do
	case $name in
	hog) run hog "$work/lmwhog" -u $nobody hog 8192 100 ;;
	storm) run storm "$work/lmwstorm" -u $nobody storm 2048 400 ;;
	small*) run "$name" "$work/lmwsmall" -u $nobody hog 1024 100 ;;
	big) run big "$work/lmwbig" -u $nobody hog 16384 100 untouched ;;
	esac
done

if ! wait "$monitor"; then
	echo "stress.sh: the monitor failed" >&2
	exit 2
fi
# each moment in ms since the start, or "none"
read -r pressure_ms action_ms back_ms burst_started <"$work/moments"

# -- what happened ------------------------------------------------------------
# How each process ended, read before the cleanup stops the rest: a status
# file exists only for a process that ended during the run.
oom_after=$(oom_kills)
end_ms=$(($(now_ms) - start_ms))
for name in $culprit_names svc1 svc2 beat burst; do
	status=$(cat "$work/$name.status" 2>/dev/null || echo running)
	echo "process name=$name status=$status $(tail -n 1 "$work/$name.out" 2>/dev/null)"
done
pkill -TERM -f "$work/lmw" 2>/dev/null
sleep 1
pkill -KILL -f "$work/lmw" 2>/dev/null
reset_protection
wait 2>/dev/null

echo "stress scenario=$scenario workload=$workload total_kb=$total_kb notify_kb=$notify_kb" \
	"oom_kills=$((oom_after - oom_before)) pressure_ms=$pressure_ms" \
	"action_ms=$action_ms back_ms=$back_ms burst_ms=$burst_started end_ms=$end_ms"
# the heartbeat's lateness over every wake-up
sort -n -t= -k3 "$work/beat.samples" | awk -F'late_us=' '{ v[NR] = $2 }
	END { if (!NR) exit; p99 = int(NR * 0.99); if (p99 < NR * 0.99) p99++  # nearest rank
	      printf "beatstats samples=%d p50_us=%d p99_us=%d max_us=%d\n",
	             NR, v[int((NR + 1) / 2)], v[p99], v[NR] }'
# the heartbeat per phase: before the first action, until memory is back, after
awk -v action="$action_ms" -v back="$back_ms" '{
	split($1, t, "="); split($2, l, "=")
	phase = "before"
	if (action != "none" && t[2] >= action) phase = "acting"
	if (back != "none" && t[2] >= back) phase = "after"
	n[phase]++; if (l[2] > m[phase]) m[phase] = l[2]
	}
	END { for (p in n) printf "beatphase phase=%s samples=%d max_us=%d\n", p, n[p], m[p] }' \
	"$work/beat.samples"
# the heartbeat's lateness: the worst wake-up of each 100 ms
awk '{ split($1, t, "="); split($2, l, "=");
       b = int(t[2] / 100); if (l[2] > m[b]) m[b] = l[2]; if (b > top) top = b }
     END { for (b = 0; b <= top; b++) if (b in m) print "beat t_ms=" b * 100, "late_us=" m[b] }' \
	"$work/beat.samples"
awk '{ print "monitor t_ms=" $1, "committed_kb=" $2, "available_kb=" $3 }' "$work/monitor"
grep -h -i -E 'kill|sigterm|victim' "$work/daemon.log" 2>/dev/null | tail -n 5 |
	sed 's/^/daemon /'
