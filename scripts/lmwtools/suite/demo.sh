#!/bin/sh
# make demo's timeline, run as root in the default board's guest (suite/demo.py
# boots it and streams this script's output line by line): the memory facts,
# act 1 (lmw.ko alone refuses an unprivileged hog at the deny line, root
# commits past it, every low-memory signal printed), act 2 (the terminator
# warns an opted-in app, then stops a growing hog; no kernel OOM kill).
say() { printf '\n== %s\n' "$*"; }
lmw() { cat "/sys/kernel/lmw/watermark/$1"; }
say "the board"
python3 - <<'FACTS'
import os, platform
m = {k: int(v.split()[0]) for k, v in (l.split(":", 1) for l in open("/proc/meminfo"))}
print(f"kernel     {platform.release()} ({os.uname().machine}), init {os.readlink('/proc/1/exe')}")
print(f"RAM        {m['MemTotal']} kB, swap {m['SwapTotal']} kB (swapless)")
print(f"committed  {m['Committed_AS']} kB (Committed_AS): what LMW watches")
FACTS
say "lmw.ko, loaded at boot with the layer's sysctl defaults (90-lmw.conf)"
knob() { cat "/proc/sys/vm/lowmem_$1_watermark"; }
echo "notify $(knob notify)%, deny $(knob deny)% of RAM"
say "for the demo, lines this small board reaches quickly: deny 60%, notify 45%"
lmwctl set notify 45 deny 60
echo "deny at $(lmw deny_kb) kB, notify at $(lmw notify_kb) kB, committed $(lmw committed_kb) kB"
say "every low-memory signal, as it happens (lmwctl watch)"
lmwctl watch | sed -u 's/^/    LMS        /' &
sleep 0.5

say "act 1, the module alone (terminator stopped)"
systemctl stop lmw-terminator
echo "an unprivileged hog (uid 65534) commits 16 MiB at a time until refused:"
lmwtest -u 65534 commit mmap 16384 4000000 | sed -u 's/^/    hog        /'
sleep 0.5
echo "root commits past the deny line: allowed (CAP_SYS_ADMIN), and it counts:"
lmwtest commit mmap 16384 $(( $(lmw deny_kb) + 65536 )) | sed -u 's/^/    root       /'
sleep 1

say "act 2, with the terminator: an app that opted in, a hog that grows until stopped"
printf '%s\n' '[warn]' \
	'commands = ["logger -t demo low-memory-warning: please-free-caches"]' \
	'grace_ms = 800' '[kill]' 'term_grace_ms = 2000' > /etc/lmw/terminator.toml
systemctl start lmw-terminator
journalctl -f -n 0 -o short-precise -t lmw-terminator -t demo |
	sed -u -e 's/^[A-Z][a-z]* [0-9]* //' -e 's/ lmwguest / /' -e 's/^/    /' &
lmwtest -u 65534 optin 20000 /tmp/app.log > /dev/null &
sleep 1
echo "    hog        grows 4 MiB every 100 ms..."
lmwtest -u 65534 grow 4096 100 > /dev/null
echo "    hog        exited with status $? (143: SIGTERM)"
sleep 2
say "afterwards"
sed 's/^/    the app    /' /tmp/app.log
echo "    state $(lmw state), committed $(lmw committed_kb) kB, denials $(lmw denials)"
echo "    kernel OOM kills: $(dmesg | grep -c 'Killed process')"
pkill -f 'journalctl -f'; pkill -f 'lmwctl watch'; pkill lmwtest
