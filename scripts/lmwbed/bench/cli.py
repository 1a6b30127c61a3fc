"""scripts/bench (make bench): measure meta-lmw against the peers in one guest, write a report.

    scripts/bench                    everything (about 25 minutes under TCG)
    scripts/bench --smoke            a short run of every part (CI: it cannot rot)
    scripts/bench --only hook,latency
    scripts/bench --update-readme    also put the tables into README.md

The report, results.json and the plots go to
build/bench/<kernel release>-<arch>-<date>/ (--out to choose).
Exit codes: see errors.py (0 ok, 1 internal, 2 user error, 130 interrupted).
"""

from __future__ import annotations

import argparse
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from .. import labenv, progress
from ..errors import EXIT_OK, BedError, run_command
from ..guest import Guest, GuestSpec, build
from . import footprint, hookcost, latency, report, stress
from .guest import install_scripts

REPO = Path(__file__).resolve().parents[3]
PARTS = ("hook", "latency", "stress", "footprint")
README_BEGIN = "<!-- bench:begin -->"
README_END = "<!-- bench:end -->"


@dataclass(frozen=True, slots=True)
class Profile:
    """How much of everything: the full run, or the smoke run CI does."""

    hook_repetitions: int
    hook_count: int
    crossings: int
    scenarios: tuple[str, ...]
    stress_seconds: int
    footprint_seconds: int


FULL = Profile(hook_repetitions=7, hook_count=10000, crossings=200,
               scenarios=stress.SCENARIOS, stress_seconds=90, footprint_seconds=120)
SMOKE = Profile(hook_repetitions=2, hook_count=2000, crossings=10,
                scenarios=("lmw",), stress_seconds=40, footprint_seconds=5)


def update_readme(report_file: Path, readme: Path) -> None:
    text = readme.read_text()
    if README_BEGIN not in text or README_END not in text:
        raise BedError(f"{readme} has no {README_BEGIN} … {README_END} block")
    head, rest = text.split(README_BEGIN, 1)
    _, tail = rest.split(README_END, 1)
    title, body = report_file.read_text().split("\n", 1)
    # the tables only: the plots stay in the (git-ignored) results folder
    kept = [line.replace("## ", "#### ", 1) for line in body.splitlines()
            if not line.startswith("![")]
    source = f"From `{title.lstrip('# ')}`; plots: `make bench`."
    table = re.sub(r"\n{3,}", "\n\n", "\n".join(kept)).strip()
    readme.write_text(f"{head}{README_BEGIN}\n{source}\n\n{table}\n{README_END}{tail}")


def _shared_boots(guest: Guest, parts: set[str], profile: Profile) -> tuple[
        hookcost.HookCost | None, latency.Latency | None, list[footprint.Footprint]]:
    """Hook cost on its own boot (instruction counter), then latency and
    footprint on one ordinary boot."""
    hook = lat = None
    prints: list[footprint.Footprint] = []
    if "hook" in parts:
        progress.say("hook cost, on a boot with QEMU's instruction counter")
        with labenv.fresh_guest_shell(guest, hookcost.icount_boot(guest)) as (_, shell):
            hook = hookcost.measure(shell, profile.hook_repetitions, profile.hook_count)
    if not parts & {"latency", "footprint"}:
        return hook, lat, prints
    with labenv.fresh_guest_shell(guest) as (_, shell):
        install_scripts(shell)
        if "latency" in parts:
            progress.say(f"signal latency, {profile.crossings} crossings each")
            lat = latency.measure(shell, profile.crossings)
        if "footprint" in parts:
            progress.say(f"footprint at rest, {profile.footprint_seconds} s")
            prints = footprint.measure(shell, profile.footprint_seconds)
    return hook, lat, prints


def bench(args: argparse.Namespace) -> int:
    profile = SMOKE if args.smoke else FULL
    parts = set(args.only.split(",")) if args.only else set(PARTS)
    if parts - set(PARTS):
        raise BedError(f"unknown part(s) {', '.join(sorted(parts - set(PARTS)))}",
                       hint=f"--only takes {','.join(PARTS)}")
    guest = build(GuestSpec(kernel=args.kernel, arch=args.arch, userland="systemd"))
    stamp = time.strftime("%Y%m%d-%H%M")
    out = args.out or REPO / "build" / "bench" / f"{guest.release}-{args.arch}-{stamp}"
    hook = lat = None
    outcomes: list[stress.Outcome] = []
    prints: list[footprint.Footprint] = []
    if parts & {"hook", "latency", "footprint"}:
        progress.say(f"booting {guest.release} ({args.arch}, systemd) for the bench")
        hook, lat, prints = _shared_boots(guest, parts, profile)
    if "stress" in parts:
        for scenario in profile.scenarios:
            progress.say(f"stress, on a fresh boot: {stress.SCENARIO_TITLES[scenario]}")
            outcomes += stress.measure(guest, (scenario,), profile.stress_seconds)
    title = (f"meta-lmw bench: {guest.release} {args.arch}, QEMU TCG, 2 vCPUs, 512 MiB, "
             f"{time.strftime('%Y-%m-%d')}" + (" (smoke)" if args.smoke else ""))
    written = report.write(out, title, hook=hook, latency=lat, outcomes=outcomes,
                           footprint=prints, footprint_s=profile.footprint_seconds)
    print(written.read_text())
    print(f"bench: report in {written}")
    if args.update_readme:
        update_readme(written, REPO / "README.md")
        print("bench: README.md's table updated")
    return EXIT_OK


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="bench", description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="a short run of every part")
    parser.add_argument("--only", metavar="PARTS", help=f"comma-separated: {','.join(PARTS)}")
    parser.add_argument("--kernel", default="6.1", help="Debian kernel series (default 6.1)")
    parser.add_argument("--arch", default="x86_64", help="guest architecture (default x86_64)")
    parser.add_argument("--out", type=Path, help="results folder (default build/bench/…)")
    parser.add_argument("--update-readme", action="store_true",
                        help="put the report's tables into README.md")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = make_parser().parse_args(argv)
    return run_command("bench", lambda: bench(args))
