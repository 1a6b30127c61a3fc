"""Victim policy on fake /proc trees: base score, every rule kind, protected processes."""

from __future__ import annotations

from pathlib import Path

import pytest

from lmw_terminator import config, policy, procs

SELF = 4242


def fake_proc(root: Path, pid: int, comm: str, *, cmdline: str = "", uid: int = 1000,
              oom_score: int = 100, adj: int = 0, rss_kb: int = 1000,
              cgroup: str = "/user.slice", kthread: bool = False, start: int = 500,
              exe: str | None = None, committed_kb: int = 0,
              vsize_kb: int | None = None, ppid: int = 1) -> None:
    base = root / str(pid)
    base.mkdir(parents=True)
    flags = 0x00200000 if kthread else 0x00400000
    fields = ["S", str(ppid), str(pid), str(pid), "0", "-1", str(flags)] + ["0"] * 12 + [str(start)]
    # what the kernel guarantees: everything committed is in the virtual size
    vsize_kb = committed_kb + 4096 if vsize_kb is None else vsize_kb
    (base / "stat").write_text(f"{pid} ({comm}) {' '.join(fields)} {vsize_kb * 1024} "
                               f"{rss_kb // 4}\n")
    (base / "status").write_text(f"Name:\t{comm}\nUid:\t{uid}\t{uid}\t{uid}\t{uid}\n"
                                 f"VmRSS:\t{rss_kb} kB\nVmData:\t{committed_kb} kB\n"
                                 "VmStk:\t0 kB\n")
    (base / "cmdline").write_bytes(cmdline.replace(" ", "\0").encode())
    (base / "oom_score").write_text(f"{oom_score}\n")
    (base / "oom_score_adj").write_text(f"{adj}\n")
    (base / "cgroup").write_text(f"0::{cgroup}\n")
    if exe:
        (base / "exe").symlink_to(exe)


@pytest.fixture
def table(tmp_path: Path) -> Path:
    fake_proc(tmp_path, 1, "systemd", cmdline="/sbin/init", uid=0, oom_score=900)
    fake_proc(tmp_path, 2, "kthreadd", kthread=True, uid=0, oom_score=950)
    fake_proc(tmp_path, SELF, "lmw-terminator", cmdline="python3 lmw-terminator", uid=0,
              oom_score=980)
    fake_proc(tmp_path, 300, "keeper", oom_score=990, adj=-1000)
    fake_proc(tmp_path, 400, "hog", cmdline="/usr/bin/hog --eat", oom_score=600, rss_kb=90000)
    fake_proc(tmp_path, 500, "chromium", cmdline="chromium --type=renderer", oom_score=300,
              rss_kb=40000, exe="/usr/lib/chromium/chromium")
    fake_proc(tmp_path, 600, "weston", cmdline="weston --tty 1", oom_score=610, uid=0,
              cgroup="/system.slice/weston.service", rss_kb=20000)
    fake_proc(tmp_path, 700, "my (odd) name", cmdline="odd", oom_score=10)
    return tmp_path


def choose(root: Path, text: str = "") -> policy.Choice | None:
    return policy.choose(procs.read_all(str(root)), config.parse(text), SELF)


def test_reading_a_fake_table(table: Path) -> None:
    by_pid = {p.pid: p for p in procs.read_all(str(table))}
    assert by_pid[2].kernel_thread and not by_pid[400].kernel_thread
    assert by_pid[700].comm == "my (odd) name"
    assert by_pid[500].exe == "/usr/lib/chromium/chromium"
    assert (by_pid[600].cgroup, by_pid[600].uid, by_pid[400].rss_kb) == (
        "/system.slice/weston.service", 0, 90000)
    assert procs.read_proc(99999, str(table)) is None


def test_highest_oom_score_wins_and_never_the_protected(table: Path) -> None:
    choice = choose(table)
    assert choice is not None and choice.proc.comm == "weston"   # 610 > hog's 600
    def reason(pid: int) -> str | None:
        proc = procs.read_proc(pid, str(table))
        assert proc is not None
        return policy.protected(proc, config.Config(), SELF)

    assert reason(1) == "PID 1"
    reasons = {pid: reason(pid) for pid in (2, SELF, 300)}
    assert reasons == {2: "kernel thread", SELF: "the terminator itself",
                       300: "oom_score_adj -1000"}


@pytest.mark.parametrize(("rule", "winner"), [
    ('[[prefer]]\ncmdline = "--type=renderer"\nadjust = 400', "chromium"),
    ('[[prefer]]\nexe = "/usr/lib/chromium/.*"\nadjust = 400', "chromium"),
    ('[[prefer]]\ncomm = "^hog$"\nadjust = 20', "hog"),
    ('[[avoid]]\ncgroup = "/system.slice/.*"\nadjust = -300', "hog"),
    ('[[avoid]]\nuid = 0\nadjust = -300', "hog"),
    ('[[protect]]\nuid = 0\ncomm = "^weston$"', "hog"),
    ('[[protect]]\nuid = 0\ncomm = "weston"\n[[protect]]\nuid = 1000\ncomm = "hog"',
     "chromium"),
])
def test_rules_shape_the_choice(table: Path, rule: str, winner: str) -> None:
    choice = choose(table, rule)
    assert choice is not None and choice.proc.comm == winner
    assert choice.why.startswith("oom_score ")


def test_all_fields_of_a_rule_must_match(table: Path) -> None:
    # weston is uid 0 but its comm is not "hog": the rule must not apply
    choice = choose(table, '[[prefer]]\nuid = 0\ncomm = "^hog$"\nadjust = 900')
    assert choice is not None and choice.proc.comm == "weston"


def test_ties_go_to_the_larger_rss(tmp_path: Path) -> None:
    fake_proc(tmp_path, 10, "small", oom_score=500, rss_kb=100)
    fake_proc(tmp_path, 11, "large", oom_score=500, rss_kb=900)
    choice = choose(tmp_path)
    assert choice is not None and choice.proc.comm == "large"


def test_nobody_to_choose(tmp_path: Path) -> None:
    fake_proc(tmp_path, 1, "init", oom_score=1)
    fake_proc(tmp_path, 5, "guard", adj=-1000)
    assert choose(tmp_path) is None


@pytest.mark.parametrize("rule", [
    '[[prefer]]\nexe = "/usr/lib"\nadjust = 400',           # a prefix is not the path
    '[[prefer]]\ncgroup = "/system.slice"\nadjust = 400',
])
def test_exe_and_cgroup_patterns_match_the_whole_path(table: Path, rule: str) -> None:
    choice = choose(table, rule)
    assert choice is not None and choice.proc.comm == "weston"   # no rule applied


def test_a_path_made_to_look_like_a_protected_one_is_not_protected(tmp_path: Path) -> None:
    """A user's /tmp/x/usr/sbin/sshd and their own sub-cgroup named like a system
    service match no rule written for the real ones."""
    fake_proc(tmp_path, 10, "sshd", uid=0, oom_score=300, exe="/usr/sbin/sshd",
              cgroup="/system.slice/ssh.service")
    fake_proc(tmp_path, 11, "sshd", uid=1000, oom_score=200, exe="/tmp/x/usr/sbin/sshd",
              cgroup="/user.slice/user-1000.slice/user@1000.service/system.slice/ssh.service")
    rules = ('[[protect]]\nexe = "/usr/sbin/sshd"\n'
             '[[protect]]\ncgroup = "/system\\\\.slice/ssh\\\\.service"\n')
    choice = choose(tmp_path, rules)
    assert choice is not None and choice.proc.pid == 11


def committed_choice(root: Path, last_denied: tuple[int, str] | None = None,
                     text: str = "") -> policy.Choice | None:
    ranking = policy.Ranking(total_kb=1_000_000, last_denied=last_denied)
    return policy.choose(procs.read_all(str(root)), config.parse(text), SELF, ranking)


def test_with_lmw_the_committer_that_never_touches_its_pages_is_chosen(tmp_path: Path) -> None:
    fake_proc(tmp_path, 10, "toucher", oom_score=500, rss_kb=200_000, committed_kb=210_000)
    fake_proc(tmp_path, 11, "committer", oom_score=10, rss_kb=1_000, committed_kb=400_000)
    assert choose(tmp_path).proc.comm == "toucher"         # type: ignore[union-attr]
    choice = committed_choice(tmp_path)
    assert choice is not None and choice.proc.comm == "committer"
    # the kernel's formula: (1000 + 400 per mille + adj 0) * 2/3
    assert choice.score == 933 and choice.why.startswith("committed 400000 kB")


def test_the_process_refused_last_weighs_more(tmp_path: Path) -> None:
    fake_proc(tmp_path, 10, "steady", committed_kb=300_000)
    fake_proc(tmp_path, 11, "asking", committed_kb=250_000)
    fake_proc(tmp_path, 12, "huge", committed_kb=600_000)
    assert committed_choice(tmp_path).proc.comm == "huge"    # type: ignore[union-attr]
    # the weight tips a choice between near sizes, not one against a far larger
    assert committed_choice(tmp_path, (11, "asking")).proc.comm == "huge"  # type: ignore[union-attr]
    (tmp_path / "12").rename(tmp_path / "gone")
    choice = committed_choice(tmp_path, (11, "asking"))
    assert choice is not None and choice.proc.comm == "asking"
    assert f"{policy.LAST_DENIED_WEIGHT:+d}" in choice.why


def test_a_victim_still_there_after_its_sigkill_is_passed_over_while_it_lasts(
        tmp_path: Path) -> None:
    """Its start time names it: the same PID reused by another process is
    chosen as any other, in the candidates' choice as in /proc's."""
    fake_proc(tmp_path, 10, "held", committed_kb=300_000, start=700)
    fake_proc(tmp_path, 11, "next", committed_kb=200_000)
    everyone = procs.read_all(str(tmp_path))
    ranking = policy.Ranking(total_kb=1_000_000)
    cfg = config.parse("")
    chosen = policy.choose(everyone, cfg, SELF, ranking, passed_over={(10, 700)})
    assert chosen is not None and chosen.proc.comm == "next"
    settled, listed = policy.choose_listed(everyone, None, cfg, SELF, ranking,
                                           passed_over={(10, 700)})
    assert settled and listed is not None and listed.proc.comm == "next"
    reused = policy.choose(everyone, cfg, SELF, ranking, passed_over={(10, 699)})
    assert reused is not None and reused.proc.comm == "held"


def test_a_kernel_thread_is_known_from_stat_alone(tmp_path: Path) -> None:
    fake_proc(tmp_path, 2, "kthreadd", kthread=True, uid=0)
    for name in ("status", "oom_score_adj", "cmdline", "cgroup"):
        (tmp_path / "2" / name).unlink()
    (proc,) = procs.read_all(str(tmp_path))
    assert proc.kernel_thread and proc.comm == "kthreadd"


def test_what_only_rules_need_is_read_on_demand_and_empty_once_gone(tmp_path: Path) -> None:
    fake_proc(tmp_path, 400, "hog", cmdline="/usr/bin/hog --eat", cgroup="/user.slice/x",
              exe="/usr/bin/hog", oom_score=600)
    (proc,) = procs.read_all(str(tmp_path))
    assert proc.cmdline == "/usr/bin/hog --eat"     # read now, kept
    for name in ("cmdline", "cgroup", "oom_score", "exe"):
        (tmp_path / "400" / name).unlink()
    assert proc.cmdline == "/usr/bin/hog --eat"
    # the process went before these were asked for: they read empty, and a
    # rule on them matches nothing rather than failing the choice
    assert (proc.cgroup, proc.exe, proc.oom_score) == ("", "", 0)
    rule = config.parse("[[avoid]]\ncgroup = '/user\\.slice/.*'\nadjust = -900").avoid[0]
    assert not policy.matches(rule, proc)


def test_a_choice_says_why_and_how_many_it_looked_at(table: Path) -> None:
    chosen = policy.choose(procs.read_all(str(table)),
                           config.parse('[[prefer]]\ncomm = "hog"\nadjust = 100'), SELF)
    assert chosen is not None and chosen.proc.comm == "hog"
    assert chosen.score == 700 and chosen.why == "oom_score 600, prefer[0](comm~'hog') +100"
    assert chosen.seen == 8


def test_with_lmw_only_the_processes_that_could_win_are_read(tmp_path: Path) -> None:
    fake_proc(tmp_path, 10, "big", committed_kb=300_000)
    fake_proc(tmp_path, 11, "reserver", committed_kb=1_000, vsize_kb=900_000)
    for pid in range(20, 60):
        fake_proc(tmp_path, pid, f"small{pid}", committed_kb=2_000)
    table = procs.read_all(str(tmp_path))
    ranking = policy.Ranking(total_kb=1_000_000)
    choice = policy.choose(table, config.Config(), SELF, ranking)
    assert choice is not None and choice.proc.comm == "big" and choice.seen == 42
    # the reservation's ceiling made it be read; no small process was
    read = {p.comm for p in table if p._uid is not None}
    assert read == {"big", "reserver"}


def test_a_comm_rule_raises_the_ceiling_of_its_match_only(tmp_path: Path) -> None:
    fake_proc(tmp_path, 10, "big", committed_kb=300_000)
    fake_proc(tmp_path, 11, "favourite", committed_kb=1_000)
    fake_proc(tmp_path, 12, "other", committed_kb=1_000)
    table = procs.read_all(str(tmp_path))
    rules = config.parse('[[prefer]]\ncomm = "favourite"\nadjust = 500')
    choice = policy.choose(table, rules, SELF, policy.Ranking(total_kb=1_000_000))
    assert choice is not None and choice.proc.comm == "favourite"
    # its score is above every other ceiling: no one else is read
    assert {p.comm for p in table if p._uid is not None} == {"favourite"}


def test_the_process_that_crossed_last_outweighs_one_a_little_larger(tmp_path: Path) -> None:
    """A flapper maps and unmaps across the notify line: looked at, it is small."""
    fake_proc(tmp_path, 10, "bystander", committed_kb=40_000)
    fake_proc(tmp_path, 11, "flapper", committed_kb=2_000)
    fake_proc(tmp_path, 12, "huge", committed_kb=200_000)
    crossed = policy.Ranking(total_kb=1_000_000, last_crossed=(11, "flapper"))
    table = procs.read_all(str(tmp_path))
    choice = policy.choose(table, config.parse(""), SELF, crossed)
    # one far larger still goes first: the crossing may be a bystander's
    assert choice is not None and choice.proc.comm == "huge"
    (tmp_path / "12").rename(tmp_path / "gone")
    choice = policy.choose(procs.read_all(str(tmp_path)), config.parse(""), SELF, crossed)
    assert choice is not None and choice.proc.comm == "flapper"
    assert f"crossed a line last {policy.LAST_CROSSED_WEIGHT:+d}" in choice.why
    plain = policy.choose(procs.read_all(str(tmp_path)), config.parse(""), SELF,
                          policy.Ranking(total_kb=1_000_000))
    assert plain is not None and plain.proc.comm == "bystander"
    # with what the crossing asked for (lmw.ko 1.8.0 on): the flapper's
    # mapping, as if it still held it
    sized = policy.Ranking(total_kb=1_000_000, last_crossed=(11, "flapper"), crossed_kb=64_000)
    choice = policy.choose(procs.read_all(str(tmp_path)), config.parse(""), SELF, sized)
    assert choice is not None and choice.proc.comm == "flapper"
    assert "crossed a line last asking 64000 kB +42" in choice.why, choice.why


def test_a_bystanders_small_crossing_does_not_outweigh_a_climber(tmp_path: Path) -> None:
    """A shell forks at the moment a climber's growth has left committed
    memory just under the line: the fork's few pages cross it. The shell
    is weighed by those pages, and the climber, larger, goes."""
    fake_proc(tmp_path, 10, "sh", uid=0, committed_kb=364)
    fake_proc(tmp_path, 11, "climber", committed_kb=26_928)
    total_kb = 466_136
    for crossed_kb, victim in ((364, "climber"), (None, "sh")):
        ranking = policy.Ranking(total_kb=total_kb, last_crossed=(10, "sh"), crossed_kb=crossed_kb)
        choice = policy.choose(procs.read_all(str(tmp_path)), config.parse(""), SELF, ranking)
        # (without the size, a module before 1.8.0: the whole weight, and the shell)
        assert choice is not None and choice.proc.comm == victim, (crossed_kb, choice)

def test_a_climber_outweighs_a_larger_process_that_holds_still(tmp_path: Path) -> None:
    """Between two looks at the candidates the leak grew and the service
    held still: the leak is ranked by its pace, and goes although it is
    smaller; a service far larger still goes first (the weight is bounded)."""
    fake_proc(tmp_path, 10, "service", committed_kb=32_768, start=7)
    fake_proc(tmp_path, 11, "leak", committed_kb=20_480, start=8)
    total_kb = 500_000
    table = procs.read_all(str(tmp_path))
    named = {proc.comm: proc for proc in table}
    before = policy.Look(100.0, [replace_kb(named["service"], 32_768),
                                 replace_kb(named["leak"], 18_432)])
    now = policy.Look(100.5, table)
    grown = policy.grown(before, now)
    assert grown == {11: (2_048, 0.5)}
    plain = policy.choose(table, config.parse(""), SELF, policy.Ranking(total_kb=total_kb))
    assert plain is not None and plain.proc.comm == "service"
    ranking = policy.Ranking(total_kb=total_kb, grown=grown)
    choice = policy.choose(table, config.parse(""), SELF, ranking)
    assert choice is not None and choice.proc.comm == "leak"
    # 2 MiB in 0.5 s: 20 MiB more in 5 s, 40 per mille of RAM, 26 points
    assert "committed 2048 kB more in 0.5 s +26" in choice.why, choice.why
    # a list of one, the service: the leak left out can outweigh it, so the
    # list settles nothing without the growth, and everyone is read
    listed = procs.parse_candidates(candidates_file(table, total_kb, 1), str(tmp_path))
    assert listed is not None and [proc.comm for proc in listed.procs] == ["service"]
    assert policy.choose_listed(listed.procs, listed.rest, config.parse(""), SELF,
                                policy.Ranking(total_kb=total_kb))[0]
    assert not policy.choose_listed(listed.procs, listed.rest, config.parse(""), SELF,
                                    ranking)[0]
    fake_proc(tmp_path, 12, "huge", committed_kb=80_000, start=9)
    choice = policy.choose(procs.read_all(str(tmp_path)), config.parse(""), SELF, ranking)
    assert choice is not None and choice.proc.comm == "huge"
    assert policy.Ranking(total_kb=total_kb, grown={11: (400_000, 0.1)}).growth_weight(11) \
        == policy.GROWTH_WEIGHT


def replace_kb(proc: procs.Proc, committed_kb: int) -> procs.Proc:
    """``proc`` as an earlier look saw it: the same pid and start time."""
    return procs.Proc(pid=proc.pid, start_time=proc.start_time, comm=proc.comm,
                      oom_score_adj=proc.oom_score_adj, kernel_thread=False,
                      committed_kb=committed_kb, vsize_kb=committed_kb)


def test_the_pace_runs_from_the_oldest_look_of_the_horizon(
        tmp_path: Path) -> None:
    """An episode that starts within the warnings' interval looks at its
    start and kills in the same turn, a look a few milliseconds later: the
    pace runs from the looks before those (the last choices'), and the leak
    still outweighs the larger service that holds still; so it does when
    the leak stalls for a while. The horizon: GROWTH_HORIZON_S."""
    fake_proc(tmp_path, 10, "service", committed_kb=32_768, start=7)
    fake_proc(tmp_path, 11, "leak", committed_kb=30_720, start=8)
    total_kb = 500_000
    table = procs.read_all(str(tmp_path))
    named = {proc.comm: proc for proc in table}
    looks = policy.Looks()
    assert looks.grown() == {}
    looks.take(policy.Look(100.0, [replace_kb(named["service"], 32_768),
                                   replace_kb(named["leak"], 26_624)]))
    assert looks.grown() == {}, "one look: no pace yet"
    looks.take(policy.Look(101.8, [replace_kb(named["service"], 32_768),
                                   replace_kb(named["leak"], 30_700)]))  # the episode's start
    looks.take(policy.Look(101.81, table))                                 # its kill
    grown = looks.grown()
    assert list(grown) == [11] and grown[11][0] == 4_096, grown
    assert grown[11][1] == pytest.approx(1.81)
    ranking = policy.Ranking(total_kb=total_kb, grown=grown)
    choice = policy.choose(table, config.parse(""), SELF, ranking)
    assert choice is not None and choice.proc.comm == "leak", choice
    # measured from the episode's start alone, the leak held still
    alone = policy.grown(policy.Look(101.8, [replace_kb(named["service"], 32_768),
                                             replace_kb(named["leak"], 30_720)]),
                         policy.Look(101.81, table))
    plain = policy.choose(table, config.parse(""), SELF,
                          policy.Ranking(total_kb=total_kb, grown=alone))
    assert alone == {} and plain is not None and plain.proc.comm == "service"
    # the leak stalls (in reclaim, as committers do once memory has run
    # out): the pace still runs from the oldest look of the horizon
    looks.take(policy.Look(102.5, table))
    stalled = looks.grown()
    assert list(stalled) == [11] and stalled[11][0] == 4_096, stalled
    assert stalled[11][1] == pytest.approx(2.5)
    # looks older than GROWTH_HORIZON_S before the last are dropped
    looks.take(policy.Look(100.0 + policy.GROWTH_HORIZON_S + 1.9, table))
    assert looks.paced_from is not None and looks.paced_from.at == 102.5
    assert looks.grown() == {}


def test_growth_is_the_same_process_s_between_two_looks(tmp_path: Path) -> None:
    """A pid reused by another process, a process that shrank or held still,
    one that only one look lists: no growth. Looks closer than the daemon's
    look interval count as that far apart; a later look before an earlier
    one counts nothing."""
    fake_proc(tmp_path, 10, "reused", committed_kb=50_000, start=70)
    fake_proc(tmp_path, 11, "shrank", committed_kb=1_000)
    fake_proc(tmp_path, 12, "still", committed_kb=5_000)
    fake_proc(tmp_path, 13, "new", committed_kb=9_000)
    fake_proc(tmp_path, 14, "grew", committed_kb=9_000)
    table = procs.read_all(str(tmp_path))
    by_pid = {proc.pid: proc for proc in table}
    earlier = [procs.Proc(pid=10, start_time=69, comm="old", oom_score_adj=0,
                          kernel_thread=False, committed_kb=1, vsize_kb=1),
               replace_kb(by_pid[11], 2_000), replace_kb(by_pid[12], 5_000),
               replace_kb(by_pid[14], 8_000)]
    assert policy.grown(policy.Look(5.0, earlier), policy.Look(5.01, table)) == {
        14: (1_000, policy.GROWTH_MIN_WINDOW_S)}
    assert policy.grown(policy.Look(5.0, earlier), policy.Look(4.0, table)) == {}
    assert policy.grown(None, policy.Look(4.0, table)) == {}


def with_families(table: list[procs.Proc]) -> list[procs.Proc]:
    """``table`` with each process's family set, the rule applied to every
    one of them (what choose() may skip reading)."""
    eligible = [p for p in table if p.pid not in (1, SELF) and not p.kernel_thread
                and not p.zombie and p.oom_score_adj != -1000]
    for proc in table:
        proc.family = policy.family_of(proc, [p for p in eligible if p.ppid == proc.pid])
    return table


def _brute_force(table: list[procs.Proc], cfg: config.Config,
                 ranking: policy.Ranking) -> tuple[int, int] | None:
    with_families(table)
    keys = [(policy.score(p, cfg, ranking)[0], p.rss_kb) for p in table
            if not policy.protected(p, cfg, SELF)]
    return max(keys) if keys else None


@pytest.mark.parametrize("seed", range(40))
def test_reading_by_ceiling_chooses_what_reading_everyone_would(tmp_path: Path,
                                                               seed: int) -> None:
    import random
    rng = random.Random(seed)
    for pid in range(10, 10 + rng.randint(1, 30)):
        committed = rng.choice([0, 500, 5_000, 50_000, 300_000, rng.randint(0, 900_000)])
        fake_proc(tmp_path, pid, rng.choice(["app", "db", "web", "svc"]),
                  uid=rng.choice([0, 1000, 1001]), adj=rng.choice([-1000, -500, 0, 0, 300, 1000]),
                  rss_kb=rng.randint(0, 400_000), committed_kb=committed,
                  vsize_kb=committed + rng.choice([0, 1, 4096, 2_000_000]),
                  cmdline=rng.choice(["x --batch", "x", ""]),
                  # families: a parent among those made before (9: none), or init
                  ppid=rng.choice([1, 1, rng.randint(9, pid - 1)]))
    cfg = config.parse('[[prefer]]\ncomm = "web"\nadjust = 300\n'
                       '[[prefer]]\ncmdline = "--batch"\nadjust = 200\n'
                       '[[avoid]]\ncomm = "db"\nuid = 0\nadjust = -400\n'
                       '[[protect]]\ncomm = "svc"\nuid = 0\n')
    ranking = policy.Ranking(total_kb=1_000_000, last_denied=(10, "app"),
                             last_crossed=(rng.randint(10, 14), "app"),
                             grown={rng.randint(10, 16): (rng.randint(1, 90_000),
                                                          rng.choice([0.1, 0.5, 3.0]))})
    expected = _brute_force(procs.read_all(str(tmp_path)), cfg, ranking)
    choice = policy.choose(procs.read_all(str(tmp_path)), cfg, SELF, ranking)
    got = None if choice is None else (choice.score, choice.proc.rss_kb)
    assert got == expected


def candidates_file(table: list[procs.Proc], total_kb: int, size: int) -> bytes:
    """What lmw.ko's candidates file says of ``table``: the ``size`` highest
    committed scores of what may ever be chosen, the highest of the rest."""
    scored = sorted(((policy.committed_score(p, total_kb), p) for p in with_families(table)
                     if p.pid != 1 and not p.kernel_thread and not p.zombie
                     and p.oom_score_adj != -1000), key=lambda item: -item[0])
    lines = [f"{p.pid} {p.start_time} {p.committed_kb} {p.oom_score_adj} "
             f"{p.comm.encode().hex() or '-'} {policy.ranked_kb(p)}\n" for _, p in scored[:size]]
    rest = f"rest {scored[size][0]}\n" if len(scored) > size else "rest none\n"
    return "".join([*lines, rest]).encode()


def test_a_family_that_holds_its_memory_in_its_children_is_ranked_as_one(
        tmp_path: Path) -> None:
    """A fork storm of small children outranks the largest single process,
    which holds less than all of them; a shell with one large job is no
    family, nor a supervisor with a few services (the job, the leaker
    among them are chosen); children of another user, and those never
    chosen, do not count."""
    total = 1_000_000
    fake_proc(tmp_path, 100, "service", committed_kb=200_000, uid=0)
    fake_proc(tmp_path, 200, "storm", committed_kb=1_000, uid=1000)
    for pid in range(201, 241):
        fake_proc(tmp_path, pid, "storm", committed_kb=8_000, uid=1000, ppid=200)
    fake_proc(tmp_path, 300, "sh", committed_kb=2_000, uid=1000)
    fake_proc(tmp_path, 301, "job", committed_kb=150_000, uid=1000, ppid=300)
    fake_proc(tmp_path, 302, "tool", committed_kb=5_000, uid=1000, ppid=300)
    ranking = policy.Ranking(total_kb=total)
    choice = policy.choose(procs.read_all(str(tmp_path)), config.parse(""), SELF, ranking)
    assert choice is not None and choice.proc.pid == 200
    assert choice.proc.family is not None and choice.proc.family.members == 41
    assert choice.proc.family.committed_kb == 1_000 + 40 * 8_000
    assert "family of 41 committed 321000 kB" in choice.why
    by_pid = {p.pid: p for p in with_families(procs.read_all(str(tmp_path)))}
    assert by_pid[300].family is None and by_pid[100].family is None
    # the storm's children as another user's, or never to be chosen: the service
    for change in ("uid", "adj"):
        root = tmp_path / change
        fake_proc(root, 100, "service", committed_kb=200_000, uid=0)
        fake_proc(root, 200, "storm", committed_kb=1_000, uid=1000)
        for pid in range(201, 241):
            fake_proc(root, pid, "storm", committed_kb=8_000, ppid=200,
                      uid=1001 if change == "uid" else 1000,
                      adj=-1000 if change == "adj" else 0)
        choice = policy.choose(procs.read_all(str(root)), config.parse(""), SELF, ranking)
        assert choice is not None and choice.proc.pid == 100, change
    # a supervisor of a few services, one of them leaking: the leaker, alone
    root = tmp_path / "supervisor"
    fake_proc(root, 400, "appmgr", committed_kb=3_000, uid=0)
    for pid in range(401, 406):
        fake_proc(root, pid, "app", committed_kb=30_000, uid=0, ppid=400)
    fake_proc(root, 406, "leaker", committed_kb=60_000, uid=0, ppid=400)
    choice = policy.choose(procs.read_all(str(root)), config.parse(""), SELF, ranking)
    assert choice is not None and choice.proc.pid == 406 and choice.proc.family is None
    # resident ranking (PSI, MemAvailable) has no families
    choice = policy.choose(procs.read_all(str(tmp_path)), config.parse(""), SELF)
    assert choice is not None and choice.proc.family is None


def test_parsing_the_candidates_file(tmp_path: Path) -> None:
    text = (b"412 9001 65536 300 686f67\n"                      # "hog"
            b"77 12 100 0 61200a28622920\n"                     # "a \n(b) ": a user's comm
            b"78 13 4 -5 \n"                                    # an empty comm
            b"rest 512\n")
    listed = procs.parse_candidates(text, str(tmp_path))
    assert listed is not None and listed.rest == 512
    assert [(p.pid, p.start_time, p.committed_kb, p.oom_score_adj, p.comm)
            for p in listed.procs] == [(412, 9001, 65536, 300, "hog"),
                                       (77, 12, 100, 0, "a \n(b) "), (78, 13, 4, -5, "")]
    assert all(p.vsize_kb == p.committed_kb for p in listed.procs)
    assert all(p.family is None for p in listed.procs)
    # today's module: a sixth word, the family's committed memory, and "-" for no comm
    listed = procs.parse_candidates(b"412 9001 65536 300 686f67 65536\n"
                                    b"500 77 1000 0 73746f726d 321000\n"
                                    b"78 13 4 -5 - 4\nrest 10\n")
    assert listed is not None
    assert [(p.pid, p.comm, p.committed_kb, p.family and p.family.committed_kb)
            for p in listed.procs] == [(412, "hog", 65536, None), (500, "storm", 1000, 321000),
                                       (78, "", 4, None)]
    assert policy.committed_score(listed.procs[1], 1_000_000) == (1000 + 321) * 2 // 3
    none = procs.parse_candidates(b"rest none\n")
    assert none is not None and none.procs == [] and none.rest is None
    for bad in (b"", b"412 9001 65536 300 686f67\n", b"412 x 1 1 61\nrest 3\n",
                b"412 1 1 1 6\nrest 3\n", b"rest\n", b"rest 1 2\n", b"412 1 1\nrest 3\n",
                b"\xff\nrest 1\n", b"last 3\n", b"1 2 3 4 61 5 6\nrest 1\n",
                b"1 2 3 4 61 x\nrest 1\n"):
        assert procs.parse_candidates(bad) is None, bad
    assert procs.parse_candidates(None) is None


def test_a_look_at_the_candidates_reads_no_process_s_files(tmp_path: Path) -> None:
    """What lmw.ko lists is what a look (the pace) and the ranking compare:
    a look reads no process's files, and the choice reads only those that
    could win, as it does from /proc."""
    for pid in range(10, 26):
        fake_proc(tmp_path, pid, f"app{pid}", committed_kb=1_000 * pid)
    text = "".join(f"{pid} 500 {1_000 * pid} 0 {f'app{pid}'.encode().hex()} {1_000 * pid}\n"
                   for pid in range(25, 9, -1)) + "rest none\n"
    listed = procs.parse_candidates(text.encode(), str(tmp_path))
    assert listed is not None
    looks = policy.Looks()
    looks.take(policy.Look(1.0, listed.procs))
    assert [p.pid for p in listed.procs if p._uid is not None] == []
    settled, choice = policy.choose_listed(listed.procs, listed.rest, config.Config(), SELF,
                                           policy.Ranking(total_kb=1_000_000))
    assert settled and choice is not None and (choice.proc.pid, choice.proc.uid) == (25, 1000)
    assert [p.pid for p in listed.procs if p._uid is not None] == [25]


def test_choosing_from_the_candidates_chooses_what_reading_everyone_would(
        tmp_path: Path) -> None:
    """The list settles the choice only when nobody left out can reach it,
    whatever the rules and lmw.ko's records add; and then it is the same
    choice as over every process."""
    import random
    ruled = config.parse('[[prefer]]\ncomm = "web"\nadjust = 300\n'
                         '[[prefer]]\ncmdline = "--batch"\nadjust = 200\n'
                         '[[avoid]]\ncomm = "db"\nuid = 0\nadjust = -400\n'
                         '[[protect]]\ncomm = "svc"\nuid = 0\n')
    settled_seen = unsettled_seen = 0
    for seed in range(160):
        rng = random.Random(seed)
        # without rules, lmw.ko's records are all that can lift one left out
        cfg = ruled if seed % 2 else config.parse("")
        root = tmp_path / str(seed)
        for pid in range(10, 10 + rng.randint(1, 30)):
            committed = rng.choice([0, 500, 5_000, 50_000, 300_000, rng.randint(0, 900_000)])
            fake_proc(root, pid, rng.choice(["app", "db", "web", "svc"]),
                      uid=rng.choice([0, 1000, 1001]),
                      adj=rng.choice([-1000, -500, 0, 0, 300, 1000]),
                      rss_kb=rng.randint(0, 400_000), committed_kb=committed,
                      cmdline=rng.choice(["x --batch", "x", ""]), start=seed + pid,
                      ppid=rng.choice([1, 1, rng.randint(9, pid - 1)]))
        table = procs.read_all(str(root))
        # growth for anyone, listed or not (a climber the list left out)
        ranking = policy.Ranking(total_kb=1_000_000,
                                 last_denied=(rng.choice(table).pid, "app"),
                                 last_crossed=(rng.choice(table).pid, "app"),
                                 grown={rng.choice(table).pid: (rng.randint(1, 90_000),
                                                                rng.choice([0.1, 0.5, 3.0]))})
        listed = procs.parse_candidates(
            candidates_file(table, 1_000_000, rng.choice([1, 2, 4, 16])), str(root))
        assert listed is not None
        settled, choice = policy.choose_listed(listed.procs, listed.rest, cfg, SELF, ranking)
        if not settled:
            unsettled_seen += 1
            continue
        settled_seen += 1
        expected = _brute_force(table, cfg, ranking)
        got = None if choice is None else (choice.score, choice.proc.rss_kb)
        assert got == expected, seed
        if choice is not None:
            assert choice.proc.start_time == seed + choice.proc.pid
    # both ways were taken: the list settled many choices, and left some to /proc
    assert settled_seen > 10 and unsettled_seen > 5, (settled_seen, unsettled_seen)


def test_a_family_that_lmw_ko_ranked_keeps_its_rank_beside_a_child_read_from_proc(
        tmp_path: Path) -> None:
    """lmw.ko lists a fork storm's head with its family's memory. One of its
    children, left out of the list, took committed memory over the line
    last: read from /proc (read_with_children), it is the one child the
    choice knows of, and the family that lmw.ko counted whole must not be
    ranked again from that child alone (the head, ranked as itself, would
    lose to the service). Seen in a fork storm, where the head was stopped
    alone."""
    total_kb = 1_000_000
    fake_proc(tmp_path, 100, "service", committed_kb=200_000, uid=0)
    fake_proc(tmp_path, 200, "storm", committed_kb=1_000, uid=1000)
    for pid in range(201, 241):
        fake_proc(tmp_path, pid, "storm", committed_kb=8_000, uid=1000, ppid=200)
    table = procs.read_all(str(tmp_path))
    listed = procs.parse_candidates(candidates_file(table, total_kb, 4), str(tmp_path))
    assert listed is not None and 240 not in {proc.pid for proc in listed.procs}
    ranking = policy.Ranking(total_kb=total_kb, last_crossed=(240, "storm"))
    weighed = policy.weighed_unlisted(listed.procs, ranking)
    extra = procs.read_with_children(weighed, {proc.pid for proc in listed.procs},
                                     str(tmp_path))
    assert [proc.pid for proc in extra] == [240] and extra[0].ppid == 200
    settled, choice = policy.choose_listed([*listed.procs, *extra], listed.rest,
                                           config.parse(""), SELF, ranking, looked_up=weighed)
    assert settled and choice is not None and choice.proc.pid == 200, choice and choice.why
    assert choice.proc.family is not None and choice.proc.family.committed_kb == 321_000


@pytest.mark.parametrize("keys", ['uid = 0\ncmdline = "x"', 'cmdline = "x"\nexe = "/usr/bin/x"',
                                  'cgroup = "/system.slice/x"\ncmdline = "x"',
                                  'cmdline = "x"\ncomm = "^x$"'])
def test_a_rule_reads_the_command_line_last(tmp_path: Path, keys: str) -> None:
    """A process that one of the rule's other keys rules out is never asked
    for its command line, whatever order the keys are written in: that read
    goes through the process's own memory, which it can make wait."""
    fake_proc(tmp_path, 800, "other", cmdline="x", uid=1000, exe="/usr/bin/other",
              cgroup="/user.slice/other")
    asked: list[str] = []

    class Watched(procs.Proc):
        @property
        def cmdline(self) -> str:
            asked.append("cmdline")
            return super().cmdline

    read = procs.read_proc(800, str(tmp_path))
    assert read is not None
    proc = Watched(pid=read.pid, start_time=read.start_time, comm=read.comm,
                   oom_score_adj=read.oom_score_adj, kernel_thread=False, root=str(tmp_path))
    rule = config.parse(f"[[prefer]]\n{keys}\n").prefer[0]
    assert not policy.matches(rule, proc)
    assert asked == []


def _big_listed_alone(tmp_path: Path, total_kb: int) -> tuple[list[procs.Proc],
                                                                 procs.Candidates]:
    """"big" (40 MB committed) and a crowd of 40 at 4 MB beside what the
    test made before: every process read, and lmw.ko's list of one, big."""
    fake_proc(tmp_path, 10, "big", committed_kb=40_000, start=5)
    for pid in range(100, 140):
        fake_proc(tmp_path, pid, "crowd", committed_kb=4_000, start=8)
    table = procs.read_all(str(tmp_path))
    listed = procs.parse_candidates(candidates_file(table, total_kb, 1), str(tmp_path))
    assert listed is not None and [proc.comm for proc in listed.procs] == ["big"]
    return table, listed


def test_what_weighs_more_than_the_module_saw_is_read_and_the_list_settles_the_choice(
        tmp_path: Path) -> None:
    """lmw.ko lists "big"; "crosser", left out, took committed memory over
    the line, and its weight could lift it over big: alone, the list
    settles nothing and every process would be read (a second's scan of
    thousands under pressure). Read with its children, crosser is scored
    as a scan scores it, and the list settles the same choice as the scan."""
    total_kb = 500_000
    fake_proc(tmp_path, 50, "crosser", committed_kb=36_000, start=6)
    for pid in (51, 52):
        fake_proc(tmp_path, pid, "worker", committed_kb=1_000, start=7, ppid=50)
    table, listed = _big_listed_alone(tmp_path, total_kb)
    ranking = policy.Ranking(total_kb=total_kb, last_crossed=(50, "crosser"))
    scanned = policy.choose(table, config.parse(""), SELF, ranking)
    assert scanned is not None and scanned.proc.comm == "crosser", scanned

    settled, _ = policy.choose_listed(listed.procs, listed.rest, config.parse(""), SELF, ranking)
    assert not settled
    weighed = policy.weighed_unlisted(listed.procs, ranking)
    assert weighed == {50}
    extra = procs.read_with_children(weighed, {proc.pid for proc in listed.procs},
                                     str(tmp_path))
    assert sorted(proc.pid for proc in extra) == [50, 51, 52]
    settled, choice = policy.choose_listed([*listed.procs, *extra], listed.rest,
                                           config.parse(""), SELF, ranking)
    assert settled and choice is not None and choice.proc.pid == scanned.proc.pid
    assert choice.score == scanned.score
    # gone since: nothing to read
    assert procs.read_with_children({99}, set(), str(tmp_path)) == []


def test_a_record_of_a_gone_process_does_not_send_the_choice_to_proc(tmp_path: Path) -> None:
    """lmw.ko keeps its last refusal's pid until the next refusal, whether
    that process still runs or not. A record of a process that is gone
    weighs nobody a scan would read: looked for and not found, it leaves
    the list to settle the choice, the scan's own. Not looked for, its
    weight still counts (the pid might run)."""
    total_kb = 500_000
    table, listed = _big_listed_alone(tmp_path, total_kb)
    ranking = policy.Ranking(total_kb=total_kb, last_denied=(77, "gone"))
    scanned = policy.choose(table, config.parse(""), SELF, ranking)
    assert scanned is not None and scanned.proc.comm == "big", scanned

    weighed = policy.weighed_unlisted(listed.procs, ranking)
    assert weighed == {77}
    settled, _ = policy.choose_listed(listed.procs, listed.rest, config.parse(""), SELF, ranking)
    assert not settled
    extra = procs.read_with_children(weighed, {proc.pid for proc in listed.procs},
                                     str(tmp_path))
    assert extra == []
    settled, choice = policy.choose_listed([*listed.procs, *extra], listed.rest,
                                           config.parse(""), SELF, ranking, looked_up=weighed)
    assert settled and choice is not None and choice.proc.pid == scanned.proc.pid
    assert choice.score == scanned.score
