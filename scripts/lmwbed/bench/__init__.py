"""make bench: meta-lmw side by side with doing nothing, strict overcommit, earlyoom and nohang.

One QEMU guest (the bed's systemd userland, which carries Debian's earlyoom
and nohang with their units masked) runs every measurement in turn, so the
figures of one report come from one kernel, one guest and one run; the
report gives ratios and distributions rather than single times, because
the machines it runs on are noisy. Modules: ``stats`` (pure), ``guest``
(running measurement scripts in the booted guest), ``hookcost``,
``latency``, ``stress``, ``footprint`` (one measurement each), ``report``
(markdown and plots), ``cli`` (scripts/bench).
"""
