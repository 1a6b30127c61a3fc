"""make bench: meta-lmw side by side with doing nothing, strict overcommit, earlyoom and nohang.

One QEMU guest (the bed's systemd userland, which carries Debian's earlyoom
and nohang with their units masked) runs every measurement in turn, so the
figures of one report come from one kernel, one guest and one run; the
report gives ratios and distributions rather than single times, because
the machines it runs on are noisy.

- ``cli``: scripts/bench, the manual;
- ``records``: running commands and workloads in the booted guest, and
  parsing the ``tag key=value`` records they print;
- ``workloads/``: the shell halves of the measurements, run in the guest;
- ``hookcost``, ``latency``, ``stress``, ``footprint``: one measurement each;
- ``qemu``: how QEMU runs the bench's guests (its largest translation
  buffer; the instruction counter), and its flush count;
- ``stats``: percentiles, spreads and ratios (pure);
- ``report``: report.md, results.json and the plots.
"""
