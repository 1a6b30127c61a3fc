"""scripts/bench (make bench): measure meta-lmw against the peers in one guest, write a report.

    scripts/bench                    everything (well over an hour under TCG)
    scripts/bench --smoke            a short run of every part (CI: it cannot rot)
    scripts/bench --only hook,latency
    scripts/bench --only stress --workloads forkstorm --scenarios lmw,earlyoom
    scripts/bench --only stress --stress-clock instructions --scenarios lmw,lmw-tuned
    scripts/bench --only hook --kernel 6.12 --arch riscv64 --userland initramfs
    scripts/bench --only latency --vcpus 1
    scripts/bench --update-readme    also put the tables into docs/benchmarks.md
    make bench BENCH_ARGS=--smoke    the same through make

One QEMU guest (the bed's systemd userland, 6.1 x86_64 unless --kernel /
--arch say otherwise) runs every part in turn: ``hook`` (what lmw.ko adds
to each commit decision, on QEMU's instruction counter), ``latency``
(from the crossing to a poll() waiter, to the terminator's SIGTERM and to
earlyoom's, with the terminator's own profile; then the two SIGTERMs
again on a boot of their own on the instruction counter), ``stress``
(each workload, the standard one and the harder set, under each
protection, each on a fresh boot; --stress-clock instructions runs them
on the instruction counter, one vCPU, where the heartbeat's lateness is
the guest's own work and not the host's) and ``footprint`` (the daemons at
rest, side by side). The package map is in __init__.py.

The guest has two vCPUs, as the tests' guests do (--vcpus to change it;
the hook cost and the reactions on the instruction counter always run on
one, as QEMU's instruction counter needs).
On x86 one host thread runs both (the report's title says "on one host
thread"), and a wake-up of the other vCPU waits until QEMU switches to
it; on one vCPU the latency part shows the chain without that wait, which
a board's cores do not have either. On arm64 (--arch arm64) each vCPU has
a host thread of its own ("on a host thread each"): the wall clock of two
cores, slower ones, each arm64 instruction being emulated. Every boot
asks TCG for its largest translation buffer, and the latency part counts
the times QEMU flushed it in each leg (qemu.py says why).

The report, results.json, the plots and the guests' consoles (every boot
in console/console_main) go to build/bench/<kernel release>-<arch>-<date>/
(--out to choose). They are written after each stress run too, titled
"so far: N of M stress runs": a bench stopped on its way (a timeout's
SIGTERM, Ctrl-C, a guest that failed) keeps every run it finished.
--update-readme puts the tables between the ``<!-- bench:begin -->`` and
``<!-- bench:end -->`` lines of docs/benchmarks.md, part by part: a run of
some parts replaces their sections and leaves the others' (update_tables).
Exit status: 0 ok, 1 internal error (a measurement failed), 2 user
error, 130 interrupted.
"""

from __future__ import annotations

import argparse
import re
import signal
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from ..bed import boot
from ..bed.guest import VCPUS, Guest, GuestSpec, build
from ..core import progress
from ..core.errors import EXIT_OK, UserError, run_command
from ..core.layer import assignments
from ..core.paths import BENCH_RESULTS, LAYER, REPO
from . import footprint, hookcost, latency, qemu, report, stress
from .records import install_workloads

PARTS = ("hook", "latency", "stress", "footprint")
# the reference guest, whose tables the report's headings name no guest for
KERNEL = "6.1"
ARCH = "x86_64"
# where --update-readme writes the tables, between these two lines
BENCH_DOC = REPO / "docs" / "benchmarks.md"
TABLES_BEGIN = "<!-- bench:begin -->"
TABLES_END = "<!-- bench:end -->"
# where the layer's version is, which the report's title names
VERSION_FILE = LAYER / "classes-recipe" / "lmw_source.bbclass"


@dataclass(frozen=True, slots=True)
class Profile:
    """How much of everything: the full run, or the smoke run CI does."""

    hook_repetitions: int
    hook_count: int
    crossings: int
    scenarios: tuple[str, ...]
    workloads: tuple[str, ...]
    stress_seconds: int
    footprint_seconds: int


FULL = Profile(hook_repetitions=7, hook_count=10000, crossings=200,
               scenarios=stress.SCENARIOS, workloads=stress.WORKLOADS, stress_seconds=90,
               footprint_seconds=120)
SMOKE = Profile(hook_repetitions=2, hook_count=2000, crossings=10,
                scenarios=("lmw",), workloads=("standard",), stress_seconds=40,
                footprint_seconds=5)


def _sections(lines: list[str], level: str) -> tuple[list[str], list[tuple[str, list[str]]]]:
    """Split markdown lines at headings of ``level`` ("## "): what comes
    before the first, and each heading with the lines under it."""
    head: list[str] = []
    sections: list[tuple[str, list[str]]] = []
    for line in lines:
        if line.startswith(level):
            sections.append((line[len(level):].strip(), []))
        elif sections:
            sections[-1][1].append(line)
        else:
            head.append(line)
    return head, sections


def update_tables(report_file: Path, doc: Path) -> None:
    """Put the report's tables between ``doc``'s TABLES_BEGIN and TABLES_END
    lines, part by part: a section of the block whose heading the report
    has is replaced, one it lacks is added in the report's order (after
    the report's section before it; the report's first goes before the
    next one the block has, else last), and every other section stays,
    so that a run of some parts (--only latency) leaves the figures of
    the others. Each section names the run it comes from on its first
    line."""
    text = doc.read_text()
    if TABLES_BEGIN not in text or TABLES_END not in text:
        raise UserError(f"{doc} has no {TABLES_BEGIN} … {TABLES_END} block")
    head, rest = text.split(TABLES_BEGIN, 1)
    block, tail = rest.split(TABLES_END, 1)
    report_head, measured = _sections(report_file.read_text().splitlines(), "## ")
    title = report_head[0].lstrip("# ").strip() if report_head else report_file.name
    how = next((line[len(report.MEASURED_BY):].rstrip(".") for line in report_head
                if line.startswith(report.MEASURED_BY)), None)
    source = f"From `{title}`" + (f", measured by {how}" if how else "") + "."
    preamble, kept = _sections(block.splitlines(), "#### ")
    after: int | None = None  # where the last section of the report went
    for number, (heading, lines) in enumerate(measured):
        # the tables only: the plots stay in the (git-ignored) results folder
        body = [source, "", *(line for line in lines if not line.startswith("!["))]
        at = next((i for i, (name, _) in enumerate(kept) if name == heading), None)
        if at is None:
            at = len(kept) if after is None else after + 1
            if after is None:
                later = {name for name, _ in measured[number + 1:]}
                at = next((i for i, (name, _) in enumerate(kept) if name in later), at)
            kept.insert(at, (heading, body))
        else:
            kept[at] = (heading, body)
        after = at
    parts = ["\n".join(preamble).strip()]
    parts += [f"#### {heading}\n\n" + "\n".join(body).strip() for heading, body in kept]
    merged = re.sub(r"\n{3,}", "\n\n", "\n\n".join(p for p in parts if p))
    doc.write_text(f"{head}{TABLES_BEGIN}\n{merged}\n{TABLES_END}{tail}")


def command_line(args: argparse.Namespace) -> str:
    """The scripts/bench command that measures what ``args`` measured (the
    options that change the figures; not --out nor --update-readme)."""
    words = ["scripts/bench"]
    if args.smoke:
        words.append("--smoke")
    for option, value, default in (("--only", args.only, None),
                                   ("--scenarios", args.scenarios, None),
                                   ("--workloads", args.workloads, None),
                                   ("--kernel", args.kernel, KERNEL),
                                   ("--arch", args.arch, ARCH),
                                   ("--userland", args.userland, "systemd"),
                                   ("--vcpus", args.vcpus, VCPUS),
                                   ("--stress-clock", args.stress_clock, "wall")):
        if value is not None and value != default:
            words += [option, str(value)]
    return " ".join(words)


def _shared_boots(guest: Guest, parts: set[str], profile: Profile) -> tuple[
        hookcost.HookCost | None, latency.Latency | None, list[footprint.Footprint]]:
    """Hook cost on its own boot (instruction counter), then latency and
    footprint on one ordinary boot, then the latency's two SIGTERMs on a
    boot of their own (instruction counter)."""
    hook = lat = None
    prints: list[footprint.Footprint] = []
    if "hook" in parts:
        progress.say("hook cost, on a boot with QEMU's instruction counter")
        with boot.fresh_guest_shell(guest, qemu.boot_args(guest, icount=True)) as (_, shell):
            hook = hookcost.measure(shell, profile.hook_repetitions, profile.hook_count)
    if not parts & {"latency", "footprint"}:
        return hook, lat, prints
    with boot.fresh_guest_shell(guest, qemu.boot_args(guest)) as (target, shell):
        install_workloads(shell)
        if "latency" in parts:
            progress.say(f"signal latency, {profile.crossings} crossings each")
            lat = latency.measure(shell, profile.crossings,
                                  flush_count=lambda: qemu.flushes(target))
        if "footprint" in parts:
            progress.say(f"footprint at rest, {profile.footprint_seconds} s")
            prints = footprint.measure(shell, profile.footprint_seconds)
    if lat is not None:
        progress.say("lmw-terminator's and earlyoom's reactions again, on a boot with "
                     "QEMU's instruction counter")
        with boot.fresh_guest_shell(guest, qemu.boot_args(guest, icount=True)) as (target,
                                                                                    shell):
            install_workloads(shell)
            ours, theirs, flushes = latency.measure_on_instructions(
                shell, profile.crossings, flush_count=lambda: qemu.flushes(target))
        lat = replace(lat, terminator_instructions=ours, earlyoom_instructions=theirs,
                      flushes={**lat.flushes, **flushes})
    return hook, lat, prints


def _chosen(what: str, given: str | None, default: tuple[str, ...],
            known: tuple[str, ...]) -> tuple[str, ...]:
    """A comma-separated --scenarios/--workloads value, checked; else the profile's."""
    if given is None:
        return default
    chosen = tuple(given.split(","))
    unknown = sorted(set(chosen) - set(known))
    if unknown:
        raise UserError(f"unknown {what}(s) {', '.join(unknown)}",
                        hint=f"--{what}s takes {','.join(known)}")
    return chosen


def bench(args: argparse.Namespace) -> int:
    profile = SMOKE if args.smoke else FULL
    parts = set(args.only.split(",")) if args.only else set(PARTS)
    if parts - set(PARTS):
        raise UserError(f"unknown part(s) {', '.join(sorted(parts - set(PARTS)))}",
                        hint=f"--only takes {','.join(PARTS)}")
    if args.userland != "systemd" and parts != {"hook"}:
        raise UserError(f"the {args.userland} userland serves the hook cost only: the other "
                        "parts run the terminator and the peers (python3, systemd)",
                        hint=f"--only hook --userland {args.userland}, or --userland systemd")
    scenarios = _chosen("scenario", args.scenarios, profile.scenarios, stress.SCENARIOS)
    workloads = _chosen("workload", args.workloads, profile.workloads, stress.WORKLOADS)
    guest = build(GuestSpec(kernel=args.kernel, arch=args.arch, userland=args.userland,
                             vcpus=args.vcpus))
    stamp = time.strftime("%Y%m%d-%H%M")
    out = args.out or BENCH_RESULTS / f"{guest.release}-{args.arch}-{stamp}"
    with boot.console_log(out / "console") as console:
        progress.say(f"the guests' consoles go to {console}")
        return _measure_and_report(args, profile, guest=guest, out=out, parts=parts,
                                   scenarios=scenarios, workloads=workloads)


def _interrupt_on_sigterm(signum: int, frame: object) -> None:
    """A SIGTERM (timeout, a CI job cancelled) unwinds as Ctrl-C does: the
    guest is powered off on the way out, and the exit status says so."""
    raise KeyboardInterrupt


def guest_note(args: argparse.Namespace) -> str:
    """What sets the run's guest apart from the reference one (kernel 6.1,
    x86_64, 2 vCPUs), for the end of the report's headings: "" for the
    reference guest, else ", arm64 guest, kernel 6.12" and the like."""
    differs = [f"{args.arch} guest" if args.arch != ARCH else "",
               f"kernel {args.kernel}" if args.kernel != KERNEL else "",
               vcpu_count(args.vcpus) if args.vcpus != VCPUS else ""]
    return "".join(f", {part}" for part in differs if part)


def vcpu_count(vcpus: int) -> str:
    return f"{vcpus} vCPU" + ("s" if vcpus > 1 else "")


def tcg_threads(accel: str) -> str:
    """How QEMU runs a guest's vCPUs, for the report's title: on one host
    thread in turns (a wake-up of another vCPU waits for its turn), or on
    a thread each, as a board's cores run."""
    options = accel.split(",")
    if "thread=single" in options:
        return " on one host thread"
    if "thread=multi" in options:
        return " on a host thread each"
    return ""


def _measure_and_report(args: argparse.Namespace, profile: Profile, *, guest: Guest, out: Path,
                        parts: set[str], scenarios: tuple[str, ...],
                        workloads: tuple[str, ...]) -> int:
    hook = lat = None
    outcomes: list[stress.Outcome] = []
    prints: list[footprint.Footprint] = []

    def write(so_far: str = "") -> Path:
        vcpus = vcpu_count(args.vcpus)
        if args.vcpus > 1:
            vcpus += tcg_threads(guest.tree.arch.accel)
        if parts == {"stress"} and args.stress_clock == "instructions":
            vcpus = "its instruction counter, 1 vCPU"
        version = assignments(VERSION_FILE).get("LMW_VERSION", "(no LMW_VERSION)")
        title = (f"meta-lmw {version} bench: {guest.release} {args.arch}, QEMU TCG, {vcpus}, "
                 f"512 MiB, {time.strftime('%Y-%m-%d')}" + (" (smoke)" if args.smoke else "")
                 + so_far)
        return report.write(out, title, command_line(args), hook=hook, latency=lat,
                            outcomes=outcomes, footprint=prints,
                            footprint_s=profile.footprint_seconds, guest=guest_note(args))

    if parts & {"hook", "latency", "footprint"}:
        progress.say(f"booting {guest.release} ({args.arch}, {args.userland}) for the bench")
        hook, lat, prints = _shared_boots(guest, parts, profile)
    if "stress" in parts:
        runs = [(workload, scenario) for workload in workloads for scenario in scenarios]
        for done, (workload, scenario) in enumerate(runs):
            if done:
                # an hour of runs is not lost to a stop on the way
                write(f" (so far: {done} of {len(runs)} stress runs)")
            progress.say(f"stress, on a fresh boot{stress.CLOCK_TITLES[args.stress_clock]}: "
                         f"{stress.WORKLOAD_TITLES[workload]}, "
                         f"{stress.SCENARIO_TITLES[scenario]}")
            outcomes += stress.measure(guest, (scenario,), profile.stress_seconds, workload,
                                       args.stress_clock)
    written = write()
    print(written.read_text())
    print(f"bench: report in {written}")
    if args.update_readme:
        update_tables(written, BENCH_DOC)
        print(f"bench: the tables of {BENCH_DOC.relative_to(REPO)} updated")
    return EXIT_OK


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="bench", description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="a short run of every part")
    parser.add_argument("--only", metavar="PARTS", help=f"comma-separated: {','.join(PARTS)}")
    parser.add_argument("--scenarios", metavar="LIST",
                        help=f"stress: comma-separated protections (default: all; smoke: lmw): "
                             f"{','.join(stress.SCENARIOS)}")
    parser.add_argument("--workloads", metavar="LIST",
                        help=f"stress: comma-separated workloads (default: all; smoke: "
                             f"standard): {','.join(stress.WORKLOADS)}")
    parser.add_argument("--kernel", default=KERNEL,
                        help=f"Debian kernel series (default {KERNEL})")
    parser.add_argument("--arch", default=ARCH, help=f"guest architecture (default {ARCH})")
    parser.add_argument("--userland", default="systemd",
                        help="systemd (default); initramfs measures the hook cost only, "
                             "on kernels and arches without a Debian userland")
    parser.add_argument("--vcpus", type=int, default=VCPUS,
                        help=f"the guest's vCPUs (default {VCPUS})")
    parser.add_argument("--stress-clock", choices=stress.CLOCKS, default="wall",
                        help="stress: the guest's clock, QEMU's TCG as it runs (wall, the "
                             "default) or its instruction counter (one vCPU)")
    parser.add_argument("--out", type=Path, help="results folder (default build/bench/…)")
    parser.add_argument("--update-readme", action="store_true",
                        help="put the report's tables into docs/benchmarks.md")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = make_parser().parse_args(argv)
    signal.signal(signal.SIGTERM, _interrupt_on_sigterm)
    return run_command("bench", lambda: bench(args))
