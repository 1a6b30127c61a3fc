"""The checks of one configuration in one kas shell: bitbake -p, -g, populate_lic,
and (when asked) each oe-core kernel's SRC_URI."""

from __future__ import annotations

import itertools
import re
import shlex
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..core.errors import UserError
from ..core.progress import say
from .kas import (
    FAILURE_TAIL_LINES,
    FIXED_HASH_SEED,
    RESIDENT_SERVER,
    Settings,
    Step,
    kas_env,
    run_logged,
    run_step,
    tail,
)
from .matrix import IMAGE, INIT_MANAGERS, LOCAL_RECIPES, MACHINES, Config

# Lines of `bitbake -g` output worth showing (its summary is at the end).
GRAPH_TAIL_LINES = 5
# bitbake's line when it parsed recipes rather than load them all from its
# cache: "Parsing of 957 .bb files complete (0 cached, 957 parsed). ..."
_REPARSE = re.compile(r"Parsing of \d+ \.bb files complete \(\d+ cached, [1-9]\d* parsed\)")


@dataclass(slots=True)
class ConfigResult:
    config: Config
    parse: Step | None = None
    graph: Step | None = None
    licenses: Step | None = None
    buildlist: list[str] = field(default_factory=list)
    # the first step that failed, with its output's tail (None: all passed)
    error: str | None = None
    # recipe -> the log of its do_populate_lic, if it ever ran in this build dir
    lic_logs: dict[str, Path | None] = field(default_factory=dict)
    # kernel recipe -> its SRC_URI as the build would use it (the kernels
    # asked for; see _KERNEL_QUERY)
    kernel_src_uris: dict[str, list[str]] = field(default_factory=dict)

    @property
    def graph_tail(self) -> str:
        return tail(self.graph.output, GRAPH_TAIL_LINES) if self.graph else ""

    @property
    def parsed_again(self) -> list[str]:
        """The steps after bitbake -p that parsed recipes again rather than
        load its parse (see kas.RESIDENT_SERVER): none, when all is well."""
        later = (("graph", self.graph), ("populate_lic", self.licenses))
        return [name for name, step in later
                if step is not None and _REPARSE.search(step.output)]

    @property
    def licenses_summary(self) -> str:
        if self.licenses is None:
            return ""
        found = [line for line in self.licenses.output.splitlines() if "Tasks Summary" in line]
        return found[-1].strip() if found else ""


def populate_lic_log(build: Path, recipe: str) -> Path | None:
    """The newest log.do_populate_lic of ``recipe`` in ``build`` (tmp or tmp-<libc>)."""
    # bitbake's WORKDIR: TMPDIR, then work, package arch, recipe, version, temp
    workdirs = "/".join(("tmp*", "work", "*", recipe, "*"))
    logs = sorted(build.glob(f"{workdirs}/temp/log.do_populate_lic"),
                  key=lambda p: p.stat().st_mtime)
    return logs[-1] if logs else None


def check_config(settings: Settings, config: Config,
                 kernels: Sequence[str] = ()) -> ConfigResult:
    """The checks of one configuration, and the SRC_URI of each of oe-core's
    ``kernels`` in it; a failure is recorded, not raised, so that one broken
    configuration does not hide the others."""
    result = ConfigResult(config)
    try:
        _run_checks(settings, result, kernels)
    except UserError as error:
        result.error = str(error)
        say(f"{config.name}: FAILED: {tail(str(error), 3)}")
    return result


# All the steps run in ONE kas shell: one kas setup per configuration, and
# one environment. (In a fresh build dir a second kas call was seen to
# parse everything again, ~60 s; later calls found the cache warm.)
STEPS = (
    ("parse", "bitbake -p"),
    ("graph", f"bitbake -g {IMAGE}"),
    # --no-setscene: run the license check for real, not restore its output
    # from sstate (hash equivalence would reuse another machine's result).
    ("populate_lic", f"bitbake --no-setscene {' '.join(LOCAL_RECIPES)} -c populate_lic"),
)
_MARK = "### oe-check step"


def steps_script(kernels: Sequence[str] = ()) -> str:
    """A shell script running STEPS, and the kernel query when ``kernels`` are
    named, each announced by a marker line with a timestamp."""
    lines = ["set -e", FIXED_HASH_SEED, RESIDENT_SERVER]
    steps = list(STEPS)
    if kernels:
        steps.append((KERNEL_STEP, shlex.join(["python3", "-c", _KERNEL_QUERY, *kernels])))
    for name, command in steps:
        lines += [f'echo "{_MARK} {name} $(date +%s.%N)"', command]
    lines.append(f'echo "{_MARK} end $(date +%s.%N)"')
    return "\n".join(lines)


def split_steps(output: str) -> dict[str, Step]:
    """Each step's output and duration, from the marker lines of steps_script()."""
    lines = output.splitlines()
    marks: list[tuple[int, str, str]] = []
    for index, line in enumerate(lines):
        if line.startswith(_MARK):
            name, stamp = line[len(_MARK):].split()
            marks.append((index, name, stamp))
    steps: dict[str, Step] = {}
    for (first, name, stamp), (last, _, next_stamp) in itertools.pairwise(marks):
        steps[name] = Step("\n".join(lines[first + 1:last]),
                           float(next_stamp) - float(stamp))
    if marks and marks[-1][1] != "end":
        first, name, _ = marks[-1]   # the step that failed: no end mark
        steps[name] = Step("\n".join(lines[first + 1:]), 0.0)
    return steps


def _run_checks(settings: Settings, result: ConfigResult, kernels: Sequence[str]) -> None:
    config = result.config
    build = settings.build_dir(config.release)
    log_name = f"{config.name.replace('/', '-')}.log"
    say(f"{config.name}: bitbake -p, -g {IMAGE}, -c populate_lic"
        + (", the kernels' SRC_URI" if kernels else "") + " ...")
    argv = [str(settings.kas), "shell", config.kas_arg("offline"), "-c", steps_script(kernels)]
    returncode, output, seconds = run_logged(settings, argv, kas_env(settings, config.release),
                                             log_name)
    steps = split_steps(output)
    result.parse, result.graph = steps.get("parse"), steps.get("graph")
    result.licenses = steps.get("populate_lic")
    buildlist = build / "pn-buildlist"
    result.buildlist = buildlist.read_text().split() if buildlist.is_file() else []
    result.lic_logs = {r: populate_lic_log(build, r) for r in LOCAL_RECIPES}
    if returncode != 0:
        failed = next(reversed(steps), "kas")
        raise UserError(f"step {failed} failed (exit {returncode}; full log: "
                        f"{settings.logs / log_name}):\n{tail(output, FAILURE_TAIL_LINES)}")
    if kernels:
        query = steps.get(KERNEL_STEP)
        result.kernel_src_uris = kernel_answers(query.output if query else "", kernels,
                                                settings.logs / log_name)
    say(f"{config.name}: done in {seconds:.0f} s; {len(result.buildlist)} recipes in "
        f"pn-buildlist; {result.licenses_summary}")


def checkout(settings: Settings, release: str) -> Step:
    """Let kas clone the release's repos from the snapshots, at the locked commits."""
    config = Config(release, MACHINES[0], INIT_MANAGERS[0])
    argv = [str(settings.kas), "checkout", config.kas_arg("offline")]
    return run_step(settings, argv, kas_env(settings, release), f"{release}-checkout.log")


def checked_out_commit(settings: Settings, release: str, name: str) -> str | None:
    checkout_dir = settings.kas_work(release) / name
    if not checkout_dir.is_dir():
        return None
    argv = ["git", "-C", str(checkout_dir), "rev-parse", "HEAD"]
    proc = subprocess.run(settings.user.argv(argv, {}), text=True, capture_output=True,
                          check=False)
    return proc.stdout.strip() if proc.returncode == 0 else None


# Each kernel recipe's SRC_URI as the build would see it, through tinfoil,
# the last step of the configuration's kas shell: the checks' server is
# still up (kas.RESIDENT_SERVER) with the configuration parsed, and each
# recipe file is parsed again with a copy of the config that makes it the
# virtual/kernel provider (linux-yocto-rt and -tiny skip themselves
# otherwise). Setting the provider in local.conf instead is a new
# configuration, a full parse of every recipe, per kernel; and so is a kas
# call of its own (about 100 s): kas writes the conf files again, the
# server reads the configuration anew, and the one cache file on disk has
# the first run's name.
KERNEL_STEP = "kernels"
_KERNEL_QUERY = """
import glob, os, shutil, sys
bitbake = os.path.dirname(os.path.dirname(os.path.realpath(shutil.which("bitbake"))))
sys.path.insert(0, os.path.join(bitbake, "lib"))
import bb.data, bb.tinfoil
with bb.tinfoil.Tinfoil() as tinfoil:
    tinfoil.prepare(config_only=False, quiet=2)
    core = tinfoil.config_data.getVar("COREBASE")
    for recipe in sys.argv[1:]:
        found = sorted(glob.glob(os.path.join(core, "meta", "recipes-kernel", "linux",
                                              recipe + "_*.bb")))
        if not found:
            print("###", recipe, "missing", flush=True)
            continue
        data = bb.data.createCopy(tinfoil.config_data)
        data.setVar("PREFERRED_PROVIDER_virtual/kernel", recipe)
        rd = tinfoil.parse_recipe_file(found[-1], config_data=data)
        skipped = rd.getVar("__SKIPPED")
        if skipped:
            print("###", recipe, "skipped", " ".join(skipped.split()), flush=True)
        else:
            print("###", recipe, "uri", " ".join((rd.getVar("SRC_URI") or "").split()),
                  flush=True)
"""


def kernel_answers(output: str, recipes: Sequence[str], log: Path) -> dict[str, list[str]]:
    """recipe -> SRC_URI from the kernel query's ``output`` (_KERNEL_QUERY);
    a recipe that is missing, skipped or unanswered fails, naming ``log``."""
    answers: dict[str, list[str]] = {}
    problems: list[str] = []
    for line in output.splitlines():
        words = line.split()
        if len(words) < 3 or words[0] != "###" or words[1] not in recipes:
            continue
        recipe, kind, rest = words[1], words[2], words[3:]
        if kind == "uri":
            answers[recipe] = rest
        else:
            problems.append(f"{recipe}: {kind} {' '.join(rest)}".strip())
    problems += [f"{r}: no answer" for r in recipes if r not in answers
                 and not any(p.startswith(f"{r}:") for p in problems)]
    if problems:
        raise UserError("kernel recipes not queried: " + "; ".join(problems)
                        + f" (full log: {log})")
    return answers
