"""make bench's host side: statistics, parsing the guest's records, docs/benchmarks.md's tables."""

from __future__ import annotations

import json
import random
import re
import subprocess
from pathlib import Path

import pytest

from lmwtools.bed.catalog import ARCHES, KERNELS
from lmwtools.bed.guest import Guest, GuestSpec
from lmwtools.bed.kernels import KernelTree
from lmwtools.bench import cli, latency, qemu, report, stress
from lmwtools.bench.records import records
from lmwtools.bench.stats import Spread, Tail, percentile, ratio_spread
from lmwtools.core.errors import UserError


def test_percentile_is_a_measured_value_by_nearest_rank() -> None:
    values = random.Random(7).sample(range(1, 10_001), 1000)
    ordered = sorted(values)
    assert percentile(values, 50) == ordered[499]
    assert percentile(values, 99) == ordered[989]
    assert percentile(values, 100) == ordered[-1]
    assert percentile([42], 99) == 42
    with pytest.raises(ValueError):
        percentile([], 50)


def test_tail_and_spread() -> None:
    samples = list(range(1, 201))
    assert Tail.of(samples) == Tail(n=200, p50=100, p99=198, max=200)
    assert Spread.of([3, 1, 2, 5, 4]) == Spread(n=5, median=3, q1=2, q3=4)


def test_ratios_pair_repetitions_back_to_back() -> None:
    # a slow phase of the host slows both sides of repetition 2 alike:
    # paired, the ratio stays 1.1; medians of each side would mix phases
    module = [110.0, 220.0, 110.0]
    baseline = [100.0, 200.0, 100.0]
    spread = ratio_spread(module, baseline)
    assert spread.n == 3
    assert (spread.q1, spread.median, spread.q3) == pytest.approx((1.1, 1.1, 1.1))
    with pytest.raises(ValueError):
        ratio_spread([1.0], [1.0, 2.0])


STRESS_LINES = [
    "process name=hog status=143 hog terminated size_kb=180224",
    "process name=svc1 status=running service kb=32768",
    "process name=svc2 status=137",
    "process name=beat status=running",
    "process name=burst status=0 forkburst count=200 failed=0 killed=0 seconds=3",
    "stress scenario=earlyoom workload=standard total_kb=466136 notify_kb=419522 oom_kills=1 "
    "pressure_ms=5200 action_ms=7000 back_ms=7600 burst_ms=2100 end_ms=90000",
    "beatstats samples=700 p50_us=90 p99_us=4100 max_us=35000",
    "beatphase phase=acting samples=60 max_us=35000",
    "beatphase phase=before samples=700 max_us=800",
    "beatphase phase=after samples=0 max_us=0",
    "beat t_ms=0 late_us=80",
    "beat t_ms=100 late_us=35000",
    "monitor t_ms=0 committed_kb=46613 available_kb=400000",
]


def test_stress_records_tell_the_outcome() -> None:
    outcome = stress.parse(STRESS_LINES)
    assert outcome.scenario == "earlyoom"
    assert outcome.oom_kills == 1
    assert outcome.culprit_end == "SIGTERM"
    assert outcome.wrong_victims == ["svc2 (SIGKILL)"]        # the services run to the end
    assert outcome.recovery_s == pytest.approx(2.4)
    assert outcome.action_ms == 7000
    # a phase without a sample is left out, not reported as 0 ms late
    assert outcome.beat_phase_max_us == {"before": 800, "acting": 35000}
    assert (outcome.beat_p99_us, outcome.beat_max_us) == (4100, 35000)
    assert outcome.beat_series == [(0.0, 0.08), (0.1, 35.0)]
    ((t, committed),) = outcome.committed_series
    assert (t, committed) == pytest.approx((0.0, 10.0), abs=0.01)


def test_a_hog_refused_and_still_running_is_told_apart() -> None:
    lines = [line.replace("status=143 hog terminated", "status=running hog refused errno=12")
             if line.startswith("process name=hog") else line for line in STRESS_LINES]
    outcome = stress.parse(lines)
    assert outcome.culprit_end == "still running at the end (176 MiB)"
    assert records(["hog refused errno=12 size_kb=1"], "hog")[0]["errno"] == "12"


def test_many_culprits_are_counted_by_how_they_ended() -> None:
    culprits = [f"process name=small{i} status=143 hog terminated size_kb={i * 1024}"
                for i in range(1, 4)]
    culprits += ["process name=small4 status=running hog refused errno=12 size_kb=9000",
                 "process name=small5 status=137"]
    bystanders = [line for line in STRESS_LINES if not line.startswith("process name=hog")]
    outcome = stress.parse(culprits + [line.replace("workload=standard", "workload=committers")
                                       for line in bystanders])
    assert outcome.workload == "committers"
    assert outcome.culprit_end == "3 SIGTERM, 1 SIGKILL, 1 still running at the end"
    assert outcome.wrong_victims == ["svc2 (SIGKILL)"]        # the burst is nobody's victim


def test_reaction_leaves_out_sigterms_before_the_line() -> None:
    victims = records(["victim pid=1 cross_ns=1000000 term_ns=3000000",
                       "victim pid=2 cross_ns=0 term_ns=5000000",      # before its mark
                       "victim pid=3 cross_ns=1000000 refused errno=ENOMEM"], "victim")
    measured = latency.reaction(victims, timeouts=1)
    assert measured.ms == [2.0] and measured.early == 1 and measured.timeouts == 1


def test_what_else_a_peer_signalled_is_reported() -> None:
    lines = ["victim pid=1 cross_ns=1000000 term_ns=3000000",
             "stray killer=earlyoom pid=77 name=sh", "stray killer=earlyoom pid=78 name=sh"]
    measured = latency.reaction(records(lines, "victim"), 0, records(lines, "stray"))
    assert measured.strays == ["sh", "sh"]
    table = "\n".join(report.latency_table(latency.Latency(
        poll_ms=[0.5], terminator=latency.Reaction(ms=[30.0], timeouts=0), earlyoom=measured)))
    assert "earlyoom also signalled 2 other process(es): sh." in table


def test_the_ordinary_scheduling_leg_is_reported_beside_the_real_time_one() -> None:
    measured = latency.Latency(
        poll_ms=[0.5], terminator=latency.Reaction(ms=[10.0, 20.0], timeouts=0),
        earlyoom=None, ordinary=latency.Reaction(ms=[30.0, 80.0], timeouts=2))
    table = "\n".join(report.latency_table(measured))
    assert ("| the same, lmw-terminator an ordinary process (realtime_priority 0) | 2 | 30.00 "
            "| 80.00 | 80.00 |") in table
    assert "same run: 3.0x at p50, 4.0x at p99." in table
    assert "lmw-terminator (realtime_priority 0): 2 victims not stopped within 20 s." in table
    figures = report.reaction_json(measured)
    assert figures["terminator_ordinary_scheduling_reaction_ms"] == {
        "n": 2, "p50": 30.0, "p99": 80.0, "max": 80.0}


def _an_older_run_names_none_of(measured: latency.Latency, word: str) -> None:
    """A run from before a leg (``word`` names it): no row, no ratio, no figure."""
    older = latency.Latency(poll_ms=[0.5], terminator=measured.terminator,
                            earlyoom=measured.earlyoom)
    assert word not in "\n".join(report.latency_table(older))
    assert not [name for name in report.reaction_json(older) if word in name]


def test_the_instruction_counters_pair_is_set_against_itself() -> None:
    """On the instruction counter the terminator is compared with earlyoom
    on that same boot, never with the wall clock's earlyoom."""
    measured = latency.Latency(
        poll_ms=[0.5], terminator=latency.Reaction(ms=[10.0, 40.0], timeouts=0),
        earlyoom=latency.Reaction(ms=[60.0, 160.0], timeouts=0),
        terminator_instructions=latency.Reaction(ms=[1.0, 2.0], timeouts=0),
        earlyoom_instructions=latency.Reaction(ms=[50.0, 100.0], timeouts=3))
    table = "\n".join(report.latency_table(measured))
    assert ("| lmw-terminator's SIGTERM, on QEMU's instruction counter (1 vCPU, 1 ms = 10^6 "
            "guest instructions) | 2 | 1.00 | 2.00 | 2.00 |") in table
    assert ("earlyoom / lmw-terminator, on QEMU's instruction counter (1 vCPU, 1 ms = 10^6 "
            "guest instructions), same run: 50.0x at p50, 50.0x at p99.") in table
    assert "earlyoom / lmw-terminator, same run: 6.0x at p50, 4.0x at p99." in table
    assert "earlyoom (instruction counter): 3 victims not stopped within 20 s." in table
    figures = report.reaction_json(measured)
    assert figures["earlyoom_reaction_instruction_clock_ms"] == {
        "n": 2, "p50": 50.0, "p99": 100.0, "max": 100.0}
    assert figures["earlyoom_over_terminator_instruction_clock_p99"] == 50.0
    # without earlyoom's side of the pair there is no ratio to give
    alone = latency.Latency(poll_ms=[0.5], terminator=measured.terminator, earlyoom=None,
                            terminator_instructions=measured.terminator_instructions)
    assert "instruction_clock_p99" not in "".join(report.reaction_json(alone))
    _an_older_run_names_none_of(measured, "instruction")


def test_the_leg_with_the_memory_monitor_stopped_is_set_against_earlyoom_too() -> None:
    measured = latency.Latency(
        poll_ms=[0.5], terminator=latency.Reaction(ms=[10.0, 40.0], timeouts=0),
        earlyoom=latency.Reaction(ms=[60.0, 160.0], timeouts=0),
        monitor_stopped=latency.Reaction(ms=[8.0, 20.0], timeouts=1))
    table = "\n".join(report.latency_table(measured))
    assert "| the same, lmw-memory-monitor stopped | 2 | 8.00 | 20.00 | 20.00 |" in table
    # as installed: 6.0x / 4.0x; like with like: earlyoom over the leg without the monitor
    assert "earlyoom / lmw-terminator, same run: 6.0x at p50, 4.0x at p99." in table
    assert ("earlyoom / lmw-terminator with lmw-memory-monitor stopped, like with like "
            "(earlyoom's runs never wake the monitor), same run: 7.5x at p50, 8.0x at p99."
            ) in table
    assert ("lmw-terminator (lmw-memory-monitor stopped): 1 victims not stopped within 20 s."
            in table)
    figures = report.reaction_json(measured)
    assert figures["terminator_memory_monitor_stopped_reaction_ms"] == {
        "n": 2, "p50": 8.0, "p99": 20.0, "max": 20.0}
    assert figures["earlyoom_over_terminator_memory_monitor_stopped_p99"] == 8.0
    _an_older_run_names_none_of(measured, "monitor")


def test_the_waiter_on_the_crossers_vcpu_is_reported_beside_the_one_as_it_comes() -> None:
    measured = latency.Latency(
        poll_ms=[0.4, 7.0], terminator=latency.Reaction(ms=[30.0], timeouts=0), earlyoom=None,
        poll_same_vcpu_ms=[0.5, 0.9, 0.4])
    table = report.latency_table(measured)
    rows = [row for row in table if "waiter" in row]
    assert rows == ["| poll() waiter on the state file | 2 | 0.40 | 7.00 | 7.00 |",
                    "| the same waiter at SCHED_FIFO 1 on the crosser's vCPU | 3 | 0.50 | 0.90 "
                    "| 0.90 |"]
    figures = report.reaction_json(measured)
    assert figures["poll_waiter_fifo_same_vcpu_ms"] == {"n": 3, "p50": 0.5, "p99": 0.9,
                                                        "max": 0.9}
    # an older run without that leg: no row, no figure
    older = latency.Latency(poll_ms=[0.4], terminator=latency.Reaction(ms=[30.0], timeouts=0),
                            earlyoom=None)
    assert not [row for row in report.latency_table(older) if "crosser's vCPU" in row]
    assert "poll_waiter_fifo_same_vcpu_ms" not in report.reaction_json(older)


def test_stage_names_may_hold_spaces() -> None:
    (stage,) = latency.stage_records(["noise", "stage name=scan+choice, 3 rules p50_ms=1.5 "
                                      "p99_ms=2.5 max_ms=3.0"])
    assert stage == {"name": "scan+choice, 3 rules", "p50_ms": "1.5", "p99_ms": "2.5",
                     "max_ms": "3.0"}


def test_the_profile_pairs_each_reaction_with_its_crossing() -> None:
    measured = latency.Latency(
        poll_ms=[0.5], terminator=latency.Reaction(ms=[30.0, 50.0], timeouts=0),
        earlyoom=latency.Reaction(ms=[300.0, 500.0], timeouts=0),
        profile=latency.Profile(term_ms=[20.0, 45.0], choice_ms=[15.0, 40.0],
                                processes=[90, 92]))
    table = "\n".join(report.profile_table(measured))
    # with no wake-up time in the log, what is left of each crossing's
    # total once the daemon's own part is taken out is all that can be
    # said: 10 and 5 ms, named as both parts
    assert ("| the rest: crossing to the daemon awake, and SIGTERM to the victim | 2 | 5.00 "
            "| 10.00 | 10.00 |") in table
    assert "| crossing to the daemon awake |" not in table
    figures = report.reaction_json(measured)
    assert figures["earlyoom_over_terminator_p99"] == pytest.approx(10.0)
    assert figures["terminator_reaction_ms"] == {"n": 2, "p50": 30.0, "p99": 50.0, "max": 50.0}
    assert "terminator_crossing_to_awake_ms" not in figures
    # a run from before the daemon's hold-backs were counted says nothing of them
    assert "hold-back" not in table and "terminator_kills_after_a_hold_back" not in figures
    # nor of the waits for the crossings' accounting, which it did not record
    assert "accounted" not in table
    assert "terminator_wait_for_the_crossing_accounted_ms" not in figures
    # nor of the daemon's CPU time, which its log gives from 1.11.8 on
    assert "running" not in table and "terminator_choice_running_ms" not in figures


def victim_record(cross_ms: float, term_ms: float) -> dict[str, str]:
    return {"pid": "9", "cross_ns": str(int(cross_ms * 1e6)), "term_ns": str(int(term_ms * 1e6))}


def test_a_reaction_splits_where_the_daemon_says_it_woke() -> None:
    """Crossings at 1000 and 2000 ms; the daemon woke 1 and 2 ms later,
    sent its SIGTERM 5 and 6 ms after that, and the victims' handlers ran
    12 and 3 ms after the SIGTERM: the two waits are told apart."""
    victims = [victim_record(1000.0, 1018.0), {"pid": "8", "cross_ns": "0", "term_ns": "5"},
               victim_record(2000.0, 2011.0)]
    accounts = [{"term_ms": "5.0", "woke_s": "1.001"}, {"term_ms": "6.0", "woke_s": "2.002"}]
    awake, delivery = latency.split_reactions(victims, accounts)
    assert awake == pytest.approx([1.0, 2.0])
    assert delivery == pytest.approx([12.0, 3.0])
    # a handler that ran before the daemon read its clock after the signal
    # (two vCPUs) is a delivery of 0, not a reason to drop the split
    early = [victim_record(1000.0, 1005.5), victim_record(2000.0, 2011.0)]
    assert latency.split_reactions(early, accounts)[1] == pytest.approx([0.0, 3.0])
    # a turn that woke 90 ms before its crossing, for an earlier change, and
    # waited in it for a crossing to be accounted: its own, a wake-up of 0
    waited = [victim_record(1000.0, 1018.0), victim_record(2092.0, 2111.0)]
    assert latency.split_reactions(waited, accounts)[0] == pytest.approx([1.0, 0.0])
    measured = latency.Latency(
        poll_ms=[0.5], terminator=latency.Reaction(ms=[18.0, 11.0], timeouts=0), earlyoom=None,
        profile=latency.Profile(term_ms=[5.0, 6.0], choice_ms=[4.0, 4.0], processes=[9, 9],
                                awake_ms=awake, delivery_ms=delivery, held_back=1,
                                accounted_ms=[0.0, 2.5], running_ms=[1.5, 3.5]))
    table = "\n".join(report.profile_table(measured))
    # of the choices (4 ms each), the daemon ran 1.5 and 3.5 ms
    assert "| of the choice, the daemon running (its CPU time) | 2 | 1.50 | 3.50 | 3.50 |" in table
    running = report.reaction_json(measured)["terminator_choice_running_ms"]
    assert isinstance(running, dict) and running["max"] == pytest.approx(3.5)
    # one reaction of the two waited 2.5 ms for its crossing to be accounted
    assert "| of which the wait for the crossing to be accounted (1 of 2 waited) | 2 |" in table
    wait = report.reaction_json(measured)["terminator_wait_for_the_crossing_accounted_ms"]
    assert isinstance(wait, dict) and wait["max"] == pytest.approx(2.5)
    assert "| crossing to the daemon awake | 2 | 1.00 | 2.00 | 2.00 |" in table
    assert "| SIGTERM to the victim's handler running | 2 | 3.00 | 12.00 | 12.00 |" in table
    delivered = report.reaction_json(measured)["terminator_sigterm_to_victim_ms"]
    assert isinstance(delivered, dict) and delivered["max"] == pytest.approx(12.0)
    assert "a look again 100 ms later): 1:" in table
    assert report.reaction_json(measured)["terminator_kills_after_a_hold_back"] == 1


@pytest.mark.parametrize("accounts", [
    [{"term_ms": "5.0", "woke_s": "1.001"}],                          # one account short
    [{"term_ms": "5.0"}, {"term_ms": "6.0", "woke_s": "2.002"}],      # a daemon before 1.8.1
    [{"term_ms": "6.0", "woke_s": "2.002"}, {"term_ms": "5.0", "woke_s": "1.001"}],  # swapped
])
def test_reactions_that_do_not_pair_are_not_split(accounts: list[dict[str, str]]) -> None:
    victims = [victim_record(1000.0, 1018.0), victim_record(2000.0, 2011.0)]
    assert latency.split_reactions(victims, accounts) == ([], [])



# Three crossings by lmwbench 10 (a 2 MiB mmap each; the 4 KiB one is not
# one), its waiter 11 on the other vCPU: the first waits behind a task
# whose name holds a space, the second runs at once on the crosser's CPU,
# the third finds the waiter awake (its wake-up after the munmap is the
# way back to normal's): no record.
TRACE = """\
# tracer: nop
lmwbench-10 [001] ...1. 100.000000: sys_mmap(addr: 0, len: 200000, prot: 3)
lmwbench-10 [001] d.h5. 100.000200: sched_waking: comm=lmwbench pid=11 prio=120
<idle>-0 [000] dNh2. 100.001200: sched_wakeup: comm=lmwbench pid=11 prio=120
<idle>-0 [000] d..2. 100.001300: sched_switch: prev_pid=0 ==> next_comm=my worker next_pid=50 x
my worker-50 [000] d..2. 100.004300: sched_switch: prev_pid=50 ==> next_comm=lmwbench next_pid=11 x
lmwbench-10 [001] ...1. 100.005000: sys_munmap(addr: 7f0000000000, len: 200000)
lmwbench-10 [001] ...1. 100.010000: sys_mmap(addr: 0, len: 1000, prot: 3)
lmwbench-10 [001] ...1. 100.020000: sys_mmap(addr: 0, len: 200000, prot: 3)
lmwbench-10 [001] d.h5. 100.020100: sched_waking: comm=lmwbench pid=11 prio=120
lmwbench-10 [001] d.h5. 100.020150: sched_wakeup: comm=lmwbench pid=11 prio=120
lmwbench-10 [001] d..2. 100.020400: sched_switch: prev_pid=10 ==> next_comm=lmwbench next_pid=11 x
lmwbench-10 [001] ...1. 100.021000: sys_munmap(addr: 7f0000000000, len: 200000)
lmwbench-10 [001] ...1. 100.030000: sys_mmap(addr: 0, len: 200000, prot: 3)
lmwbench-10 [001] ...1. 100.031000: sys_munmap(addr: 7f0000000000, len: 200000)
lmwbench-10 [001] d.h5. 100.130000: sched_waking: comm=lmwbench pid=11 prio=120
"""


def test_the_traced_poll_path_is_split_where_each_step_ends() -> None:
    import subprocess
    import sys

    script = Path(latency.__file__).parent / "workloads" / "signal-trace.py"
    done = subprocess.run([sys.executable, str(script)], input=TRACE, capture_output=True,
                          text=True, check=True)
    first, second = records(done.stdout.splitlines(), "path")
    assert (first["module_ms"], first["ipi_ms"], first["sched_ms"], first["total_ms"],
            first["cross_cpu"], first["ran"]) == ("0.200", "1.000", "3.100", "4.300", "1",
                                                  "my_worker")
    assert (second["module_ms"], second["ipi_ms"], second["sched_ms"], second["cross_cpu"],
            second["ran"]) == ("0.100", "0.050", "0.250", "0", "")
    path = latency.PollPath(module_ms=[0.2, 0.1], ipi_ms=[1.0, 0.05], sched_ms=[3.1, 0.25],
                            total_ms=[4.3, 0.4], cross_cpu=[True, False],
                            ran_first=[["my_worker"], []])
    table = "\n".join(report.poll_path_table(latency.Latency(
        poll_ms=[0.5], terminator=latency.Reaction(ms=[30.0], timeouts=0), earlyoom=None,
        poll_path=path)))
    assert "1 woke a waiter on the other vCPU" in table and "my_worker (1)" in table
    assert "| that wake-up to the waiter's CPU | 2 | 0.05 | 1.00 | 1.00 |" in table

def test_readme_block_is_replaced_and_nothing_else(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cli, "REPO", tmp_path)
    run_dir = tmp_path / "build" / "bench" / "run"
    run_dir.mkdir(parents=True)
    (run_dir / "report.md").write_text(
        "# title\n\n## Hook cost\n\n| a |\n\n![latency](latency.png)\n")
    readme = tmp_path / "benchmarks.md"
    readme.write_text(f"before\n{cli.TABLES_BEGIN}\nold table\n{cli.TABLES_END}\nafter\n")
    cli.update_tables(run_dir / "report.md", readme)
    text = readme.read_text()
    assert text.startswith("before\n") and text.endswith("after\n")
    assert "#### Hook cost" in text and "| a |" in text
    assert "![" not in text and "From `title`." in text
    readme.write_text("no block here\n")
    with pytest.raises(UserError, match="no <!-- bench:begin -->"):
        cli.update_tables(run_dir / "report.md", readme)


def test_a_run_of_some_parts_replaces_their_tables_and_keeps_the_others(
        tmp_path: Path) -> None:
    readme = tmp_path / "benchmarks.md"
    readme.write_text(
        f"intro\n{cli.TABLES_BEGIN}\nWhich run each table comes from.\n\n"
        "#### Hook cost\n\nFrom `an old run`.\n\n| hook 1 |\n\n"
        "#### Signal latency and reaction\n\nFrom `an old run`.\n\n| latency 1 |\n\n"
        "#### Footprint at rest\n\nFrom `an old run`.\n\n| footprint 1 |\n"
        f"{cli.TABLES_END}\nafter\n")
    report_file = tmp_path / "report.md"
    report_file.write_text(
        "# meta-lmw 9.9.9 bench: a guest\n\n"
        f"{report.MEASURED_BY}`scripts/bench --only latency,stress`.\n\n"
        "## Signal latency and reaction\n\n| latency 2 |\n\n![latency](latency.png)\n\n"
        "## Outcome under the standard stress\n\n| stress 2 |\n\n![stress](stress.png)\n")
    cli.update_tables(report_file, readme)
    text = readme.read_text()
    source = ("From `meta-lmw 9.9.9 bench: a guest`, measured by "
              "`scripts/bench --only latency,stress`.")
    # what ran is replaced, with its run named; what did not run stays as it was
    assert "latency 1" not in text and f"{source}\n\n| latency 2 |" in text
    assert "From `an old run`.\n\n| hook 1 |" in text
    assert "From `an old run`.\n\n| footprint 1 |" in text
    assert "Which run each table comes from." in text
    # a part the block did not have goes after the report's part before it
    headings = [line for line in text.splitlines() if line.startswith("#### ")]
    assert headings == ["#### Hook cost", "#### Signal latency and reaction",
                        "#### Outcome under the standard stress", "#### Footprint at rest"]
    assert text.startswith("intro\n") and text.endswith(f"{cli.TABLES_END}\nafter\n")
    # the same run again changes nothing
    cli.update_tables(report_file, readme)
    assert readme.read_text() == text


def test_a_reports_first_part_that_the_block_lacks_goes_before_the_next_it_has(
        tmp_path: Path) -> None:
    doc = tmp_path / "benchmarks.md"
    doc.write_text(f"{cli.TABLES_BEGIN}\n#### Signal latency and reaction\n\n| latency 1 |\n\n"
                   f"#### Footprint at rest\n\n| footprint 1 |\n{cli.TABLES_END}\n")
    report_file = tmp_path / "report.md"
    report_file.write_text("# a run\n\n## Hook cost\n\n| hook 2 |\n\n"
                           "## Signal latency and reaction\n\n| latency 2 |\n")
    cli.update_tables(report_file, doc)
    headings = [line for line in doc.read_text().splitlines() if line.startswith("#### ")]
    assert headings == ["#### Hook cost", "#### Signal latency and reaction",
                        "#### Footprint at rest"]


def test_the_report_names_the_command_that_measures_the_same_again() -> None:
    args = cli.make_parser().parse_args(
        ["--only", "stress", "--workloads", "forkstorm", "--vcpus", "1", "--out", "/x",
         "--update-readme"])
    assert cli.command_line(args) == ("scripts/bench --only stress --workloads forkstorm "
                                      "--vcpus 1")
    assert cli.command_line(cli.make_parser().parse_args(["--smoke"])) == "scripts/bench --smoke"


def test_stress_on_the_instruction_counter_has_sections_of_its_own(tmp_path: Path) -> None:
    """The same workload on either clock: two tables, two plots, and a run
    on one clock never replaces the other's tables in the doc."""
    wall = stress.parse(STRESS_LINES)
    counted = stress.parse(STRESS_LINES, "instructions")
    assert (wall.clock, counted.clock) == ("wall", "instructions")
    out = tmp_path / "run"
    written = report.write(out, "a run", "scripts/bench --only stress", hook=None, latency=None,
                           outcomes=[counted, wall], footprint=[], footprint_s=0)
    headings = [line for line in written.read_text().splitlines() if line.startswith("## ")]
    assert headings == ["## Outcome under the standard stress",
                        "## Outcome under the standard stress, on the instruction counter "
                        "(1 vCPU)"]
    assert (out / "stress.png").exists() and (out / "stress-instructions.png").exists()
    results = json.loads((out / "results.json").read_text())
    assert [o["clock"] for o in results["stress"]] == ["instructions", "wall"]
    doc = tmp_path / "benchmarks.md"
    doc.write_text(f"{cli.TABLES_BEGIN}\n#### Outcome under the standard stress\n\n| wall |\n"
                   f"{cli.TABLES_END}\n")
    only_counted = tmp_path / "counted"
    report.write(only_counted, "a run", "scripts/bench --only stress", hook=None,
                 latency=None, outcomes=[counted], footprint=[], footprint_s=0)
    cli.update_tables(only_counted / "report.md", doc)
    text = doc.read_text()
    assert "| wall |" in text and "on the instruction counter (1 vCPU)" in text
    # a part the block lacks, with none of the report's before it: after the block's own
    assert text.index("| wall |") < text.index("on the instruction counter (1 vCPU)")
    args = cli.make_parser().parse_args(["--only", "stress", "--stress-clock", "instructions"])
    assert cli.command_line(args) == "scripts/bench --only stress --stress-clock instructions"
    assert stress.answer_within_s(90, "instructions") > stress.answer_within_s(90, "wall")


def test_a_run_on_another_guest_keeps_the_reference_guests_tables(tmp_path: Path) -> None:
    """--arch arm64 (or another kernel, or vCPU count) ends each heading with
    its guest, so --update-readme puts its tables beside the reference
    guest's instead of over them; the reference guest's headings name none."""
    reference = cli.make_parser().parse_args(["--only", "stress"])
    arm64 = cli.make_parser().parse_args(["--only", "stress", "--arch", "arm64"])
    other = cli.make_parser().parse_args(["--kernel", "6.12", "--arch", "riscv64",
                                          "--vcpus", "1"])
    assert cli.guest_note(reference) == ""
    assert cli.guest_note(arm64) == ", arm64 guest"
    assert cli.guest_note(other) == ", riscv64 guest, kernel 6.12, 1 vCPU"
    # the title says how the vCPUs ran: x86 in turns, arm64 as cores do
    assert cli.tcg_threads(ARCHES["x86_64"].accel) == " on one host thread"
    assert cli.tcg_threads(ARCHES["arm64"].accel) == " on a host thread each"
    doc = tmp_path / "benchmarks.md"
    doc.write_text(f"{cli.TABLES_BEGIN}\n#### Outcome under the standard stress\n\n| x86 |\n"
                   f"{cli.TABLES_END}\n")
    run = tmp_path / "arm64"
    report.write(run, "a run", cli.command_line(arm64), hook=None, latency=None,
                 outcomes=[stress.parse(STRESS_LINES)], footprint=[], footprint_s=0,
                 guest=cli.guest_note(arm64))
    cli.update_tables(run / "report.md", doc)
    headings = [line for line in doc.read_text().splitlines() if line.startswith("#### ")]
    assert headings == ["#### Outcome under the standard stress",
                        "#### Outcome under the standard stress, arm64 guest"]
    assert "| x86 |" in doc.read_text()


def test_the_legs_with_lmw_uevents_on_are_reported_beside_those_as_installed() -> None:
    measured = latency.Latency(
        poll_ms=[0.4, 8.0], terminator=latency.Reaction(ms=[10.0, 40.0], timeouts=0),
        earlyoom=latency.Reaction(ms=[60.0, 150.0], timeouts=0),
        poll_uevents_on_ms=[0.3, 1.5, 0.6],
        uevents_on=latency.Reaction(ms=[12.0, 30.0], timeouts=1))
    table = "\n".join(report.latency_table(measured))
    assert ("| the same waiter, lmw.ko's uevents on (uevents=Y) | 3 | 0.60 | 1.50 | 1.50 |"
            in table)
    assert "| the same, lmw.ko's uevents on (uevents=Y) | 2 | 12.00 | 30.00 | 30.00 |" in table
    assert ("earlyoom / lmw-terminator with lmw.ko's uevents on (uevents=Y), same run: "
            "5.0x at p50, 5.0x at p99.") in table
    assert ("lmw-terminator (lmw.ko's uevents on (uevents=Y)): 1 victims not stopped "
            "within 20 s.") in table
    figures = report.reaction_json(measured)
    assert figures["poll_waiter_uevents_on_ms"] == {"n": 3, "p50": 0.6, "p99": 1.5, "max": 1.5}
    assert figures["terminator_uevents_on_reaction_ms"] == {
        "n": 2, "p50": 12.0, "p99": 30.0, "max": 30.0}
    assert figures["earlyoom_over_terminator_uevents_on_p99"] == 5.0
    _an_older_run_names_none_of(measured, "uevents")


def _guest(tmp_path: Path, arch: str) -> Guest:
    tree = KernelTree(series=KERNELS["6.1"], arch=ARCHES[arch], release="9.9.9-test",
                      version="9.9.9-1", root=tmp_path)
    return Guest(spec=GuestSpec(kernel="6.1", arch=arch, userland="systemd", vcpus=2),
                 tree=tree, initrd=tmp_path / "boot.cpio.gz", rootfs=tmp_path / "root.ext4")


@pytest.mark.parametrize("arch", sorted(ARCHES))
def test_the_bench_boots_its_guests_with_the_largest_translation_buffer(
        tmp_path: Path, arch: str) -> None:
    guest = _guest(tmp_path, arch)
    bed_args = guest.labgrid_vars()["LG_QEMU_ARGS"]
    args = qemu.boot_args(guest)["LG_QEMU_ARGS"]
    assert f"-accel {ARCHES[arch].accel},tb-size={qemu.TB_SIZE_MIB} " in args
    # nothing else of the bed's boot changes
    assert args.replace(f",tb-size={qemu.TB_SIZE_MIB}", "") == bed_args
    counted = qemu.boot_args(guest, icount=True)["LG_QEMU_ARGS"]
    assert "-smp 1 " in counted and counted.endswith(" -icount shift=0")
    assert f"tb-size={qemu.TB_SIZE_MIB}" in counted


def test_qemu_takes_the_buffer_and_says_how_often_it_flushed() -> None:
    """The accelerator the bench asks for, given to the QEMU installed: it
    starts, its buffer is the size asked for (the default is 1 GiB), and
    its "info jit" gives the flush count that the report reads."""
    accel = f"{ARCHES['x86_64'].accel},tb-size={qemu.TB_SIZE_MIB}"
    commands = [{"execute": "qmp_capabilities"},
                {"execute": "human-monitor-command",
                 "arguments": {"command-line": "info jit"}},
                {"execute": "quit"}]
    done = subprocess.run(
        [ARCHES["x86_64"].qemu, "-machine", "none", "-accel", accel, "-display", "none",
         "-nodefaults", "-qmp", "stdio"],
        input="".join(json.dumps(command) + "\n" for command in commands),
        capture_output=True, text=True, timeout=60, check=True)
    answers = [json.loads(line) for line in done.stdout.splitlines()]
    info = next(answer["return"] for answer in answers
                if isinstance(answer.get("return"), str))
    capacity = re.search(r"gen code size\s+\d+/(\d+)", info)
    assert capacity is not None and int(capacity.group(1)) > (qemu.TB_SIZE_MIB - 1) * 2**20
    assert qemu.flush_count(info) == 0
    assert qemu.flush_count(info.replace("TB flush count      0", "TB flush count      3")) == 3
    assert qemu.flush_count("no such line") is None


def test_each_leg_says_how_many_flushes_it_met() -> None:
    counts = iter([0, 0, 0, 2, 2, 3])
    log = latency.FlushLog(lambda: next(counts))
    assert log.leg("poll_waiter_ms", lambda: [0.5]) == [0.5]
    log.leg("terminator_reaction_ms", lambda: None)
    log.leg("earlyoom_reaction_ms", lambda: None)
    assert log.flushes == {"poll_waiter_ms": 0, "terminator_reaction_ms": 2,
                           "earlyoom_reaction_ms": 1}
    measured = latency.Latency(
        poll_ms=[0.5], terminator=latency.Reaction(ms=[10.0, 40.0], timeouts=0),
        earlyoom=latency.Reaction(ms=[60.0, 160.0], timeouts=0),
        monitor_stopped=latency.Reaction(ms=[8.0, 20.0], timeouts=0), flushes=log.flushes)
    table = "\n".join(report.latency_table(measured))
    assert "| max ms | QEMU flushes |" in table
    assert "| lmw-terminator's SIGTERM at the victim | 2 | 10.00 | 40.00 | 40.00 | 2 |" in table
    # a leg whose flushes were not counted says so
    assert "| the same, lmw-memory-monitor stopped | 2 | 8.00 | 20.00 | 20.00 | ? |" in table
    assert report.reaction_json(measured)["qemu_translation_flushes_per_leg"] == log.flushes
    # not counted at all (an older run): no column, no figure
    _an_older_run_names_none_of(measured, "flushes")
    assert "QEMU flushes" not in "\n".join(report.latency_table(latency.Latency(
        poll_ms=[0.5], terminator=measured.terminator, earlyoom=None)))
    # nothing counts without a counter
    uncounted = latency.FlushLog(None)
    uncounted.leg("poll_waiter_ms", lambda: None)
    assert uncounted.flushes == {}
