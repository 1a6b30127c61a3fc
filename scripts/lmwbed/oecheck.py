"""scripts/oe-check: check meta-lmw with the real bitbake, offline, through the kas files.

For every release the layer claims (LAYERSERIES_COMPAT_lmw, one
``kas/release/<release>.yml`` each), every QEMU machine and every init
manager, it runs through ``kas shell`` and the committed kas files plus
``kas/opt/offline.yml``:

1. ``bitbake -p``: every recipe of oe-core and meta-lmw parses;
2. ``bitbake -g lmw-image``: the image's whole dependency tree resolves
   (our recipes must be in pn-buildlist);
3. ``bitbake <our recipes> -c populate_lic``: the real do_fetch,
   do_unpack and LIC_FILES_CHKSUM check of our local-source recipes.

``--check-layer`` adds yocto-check-layer per release, in a fresh build
dir. ``--dump-only`` just runs ``kas dump`` and the kas JSON schema on
every combination of kas files (no sources, no network, no bitbake).

Where the upstream sources come from: nothing here may use the network,
so ``$LMW_OE_MIRRORS`` names a directory of git snapshots laid out as the
search tool's ``fetch`` leaves them, ``<owner>+<name>/repo`` (a bare git
dir; ``<owner>+<name>.git`` works too), for every GitHub URL in ``kas/``.
A private gitconfig (kas's ``GITCONFIG_FILE``) rewrites those URLs to the
snapshots with ``url.<snapshot>.insteadOf``, so kas itself clones them and
checks out the commits of ``kas/release/<release>.lock.yml``. Nothing in
the system's or the user's git config changes.

bitbake refuses to run as root: as root, everything runs as the build
user (``lmwbuild``, created when missing) through runuser, with a clean
environment. Build dirs go to ``$LMW_OE_WORK`` (default ``build/oe-check``,
git-ignored): one kas work dir per release, its build dir shared by all
machines and init managers of that release (bitbake keeps one parse cache
per configuration, so reruns are warm).
"""

from __future__ import annotations

import argparse
import itertools
import os
import pwd
import re
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from . import hostenv
from .errors import EXIT_OK, BedError, run_command
from .packaging import assignments

REPO = Path(__file__).resolve().parents[2]
LAYER = "meta-lmw"
IMAGE = "lmw-image"
# What lmw-image must pull in (its pn-buildlist is checked for them).
IMAGE_CONTENT = ("lmw-module", "lmw-sysctl", "lmw-terminator", "packagegroup-lmw")
# Our recipes with local sources only: their fetch, unpack and license
# check run offline (kas/opt/offline.yml drops their patch-tool dependency).
# lmwtest goes into test images only (kas/opt/test.yml).
LOCAL_RECIPES = (*IMAGE_CONTENT, "lmwtest")
MACHINES = ("qemux86-64", "qemuarm64")
INIT_MANAGERS = ("systemd", "sysvinit")
# Machines whose BSP layer is optional: the dump check always covers them,
# bitbake only when asked (--machine), and only with a snapshot of the BSP.
OPTIONAL_MACHINES = ("raspberrypi4-64",)

MIRRORS_ENV = "LMW_OE_MIRRORS"
WORK_ENV = "LMW_OE_WORK"
KAS_ENV = "LMW_KAS"
USER_ENV = "LMW_BUILD_USER"
DEFAULT_USER = "lmwbuild"
DEFAULT_WORK = REPO / "build" / "oe-check"

# Lines of `bitbake -g` output worth showing (its summary is at the end).
GRAPH_TAIL_LINES = 5
FAILURE_TAIL_LINES = 30

KAS_SKIP_CHECKOUT = ("--skip", "finish_setup_repos", "--skip", "repos_checkout")


def say(message: str) -> None:
    print(f"[oe-check] {message}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------- the matrix

@dataclass(frozen=True, slots=True)
class Config:
    """One kas configuration: release x machine x init manager."""

    release: str
    machine: str
    init: str

    @property
    def name(self) -> str:
        return f"{self.release}/{self.machine}/{self.init}"

    def kas_files(self, *options: str) -> list[str]:
        # The release file comes first: kas applies the lock file next to it.
        files = [f"kas/release/{self.release}.yml", "kas/base.yml",
                 f"kas/machine/{self.machine}.yml", f"kas/init/{self.init}.yml"]
        return files + [f"kas/opt/{option}.yml" for option in options]

    def kas_arg(self, *options: str) -> str:
        return ":".join(self.kas_files(*options))


def claimed_releases(repo: Path = REPO) -> list[str]:
    """The release names in LAYERSERIES_COMPAT_lmw; each needs its kas release file."""
    layer_conf = repo / LAYER / "conf" / "layer.conf"
    if not layer_conf.is_file():
        raise BedError(f"{layer_conf} not found: the layer has no layer.conf yet")
    releases = assignments(layer_conf).get("LAYERSERIES_COMPAT_lmw", "").split()
    if not releases:
        raise BedError(f"{layer_conf}: no LAYERSERIES_COMPAT_lmw = \"<releases>\" line")
    for release in releases:
        for suffix in (".yml", ".lock.yml"):
            kas_file = repo / "kas" / "release" / f"{release}{suffix}"
            if not kas_file.is_file():
                raise BedError(f"the layer claims {release}, but {kas_file} is missing")
    return releases


def matrix(releases: Sequence[str], machines: Sequence[str],
           inits: Sequence[str]) -> list[Config]:
    return [Config(r, m, i) for r, m, i in itertools.product(releases, machines, inits)]


# ------------------------------------------------------ upstream git sources

_GITHUB_URL = re.compile(r"^https://github\.com/([^/]+)/([^/]+?)(?:\.git)?/?$")
_KAS_URL = re.compile(r"^\s*url:\s*[\"']?([^\"'\s#]+)", re.MULTILINE)


def kas_urls(repo: Path = REPO) -> list[str]:
    """Every repository URL named in kas/ (release files and optional BSPs)."""
    urls: set[str] = set()
    for kas_file in sorted((repo / "kas").rglob("*.yml")):
        urls.update(_KAS_URL.findall(kas_file.read_text()))
    return sorted(urls)


def snapshot_for(mirrors: Path, url: str) -> Path | None:
    """The git snapshot of ``url`` under ``mirrors``, if there is one."""
    match = _GITHUB_URL.match(url)
    if not match:
        return None
    stem = f"{match.group(1)}+{match.group(2)}"
    for candidate in (mirrors / stem / "repo", mirrors / f"{stem}.git", mirrors / stem):
        if (candidate / "objects").is_dir():
            return candidate
    return None


def release_urls(repo: Path, release: str) -> list[str]:
    """URLs a release cannot do without (its release file's repos)."""
    text = (repo / "kas" / "release" / f"{release}.yml").read_text()
    return sorted(set(_KAS_URL.findall(text)))


def find_mirrors() -> Path:
    value = os.environ.get(MIRRORS_ENV, "")
    if not value:
        raise BedError(
            f"${MIRRORS_ENV} is not set: no upstream sources (bitbake, openembedded-core)",
            hint=f"export {MIRRORS_ENV}=/work/.mirror   (git snapshots named <owner>+<name>/repo, "
                 "as the search tool's fetch leaves them)")
    mirrors = Path(value)
    if not mirrors.is_dir():
        raise BedError(f"${MIRRORS_ENV}={value} is not a directory")
    return mirrors


def gitconfig_text(repo: Path, mirrors: Path, releases: Sequence[str]) -> str:
    """A private git config: our URLs -> local snapshots, and the directories git may trust."""
    for release in releases:
        missing = [u for u in release_urls(repo, release) if snapshot_for(mirrors, u) is None]
        if missing:
            raise BedError(f"no snapshot in {mirrors} for {', '.join(missing)} ({release})",
                           hint="fetch github:<owner>/<name> for each (it lands in "
                                "<owner>+<name>/repo)")
    lines = ["[safe]", f"\tdirectory = {repo}"]
    rewrites: list[str] = []
    for url in kas_urls(repo):
        snapshot = snapshot_for(mirrors, url)
        if snapshot is None:
            continue  # an optional repo (a BSP) without a snapshot: unused here
        # The snapshots belong to another user (root): let git read them.
        lines.append(f"\tdirectory = {snapshot}")
        # file:// makes git use upload-pack, which reads the snapshot without
        # copying its files (they may be unreadable; partial clones are).
        rewrites += [f'[url "file://{snapshot}"]', f"\tinsteadOf = {url}"]
    # kas clones with depth 1 (KAS_CLONE_DEPTH); a locked commit that is not
    # a branch tip is then fetched by its hash, which upload-pack must allow.
    tail = ["[uploadpack]", "\tallowAnySHA1InWant = true"]
    return "\n".join([*lines, *rewrites, *tail]) + "\n"


# --------------------------------------------------------- the build user

@dataclass(frozen=True, slots=True)
class Runner:
    """Runs commands in a clean environment, as the build user when we are root."""

    user: str | None
    home: Path
    path: str = "/usr/local/bin:/usr/bin:/bin"

    def argv(self, command: Sequence[str], env: dict[str, str]) -> list[str]:
        # env -i: no root PATH (pyenv), no stray BB_* or KAS_* from the caller.
        base = {"PATH": self.path, "HOME": str(self.home), "LANG": "en_US.UTF-8",
                "LC_ALL": "en_US.UTF-8", "SHELL": "/bin/bash", "USER": self.user or "",
                "TERM": "dumb", **env}
        clean = ["env", "-i", *(f"{k}={v}" for k, v in base.items()), *command]
        if self.user is None:
            return clean
        return ["runuser", "-u", self.user, "--", *clean]

    def give(self, paths: Sequence[Path]) -> None:
        """Make ``paths`` the build user's (not recursive: what the build
        user creates inside them is its own already)."""
        if self.user is None:
            return
        account = pwd.getpwnam(self.user)
        for path in paths:
            os.chown(path, account.pw_uid, account.pw_gid, follow_symlinks=False)


def build_user(name: str) -> str | None:
    """The user to run bitbake as: None if we are not root, else ``name`` (created if missing)."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam(name)
    except KeyError:
        say(f"creating the unprivileged build user '{name}' (bitbake refuses root)")
        hostenv.run(["useradd", "--create-home", "--shell", "/bin/bash", name])
    return name


def tail(text: str, lines: int) -> str:
    return "\n".join(text.rstrip().splitlines()[-lines:])


# ----------------------------------------------------------------- settings

@dataclass(frozen=True, slots=True)
class Settings:
    repo: Path
    work: Path
    kas: Path
    runner: Runner

    def kas_work(self, release: str) -> Path:
        return self.work / release

    def build_dir(self, release: str) -> Path:
        return self.work / release / "build"

    @property
    def gitconfig(self) -> Path:
        return self.runner.home / ".gitconfig"

    @property
    def logs(self) -> Path:
        return self.work / "logs"


def find_kas(explicit: str | None) -> Path:
    """kas from --kas, $LMW_KAS, next to this interpreter, build/venv, or PATH."""
    beside = Path(sys.executable).parent / "kas"
    project_venv = REPO / "build" / "venv" / "bin" / "kas"
    candidates = [explicit, os.environ.get(KAS_ENV), str(beside), str(project_venv),
                  shutil.which("kas")]
    for candidate in candidates:
        if candidate and Path(candidate).is_file():
            return Path(candidate).absolute()
    raise BedError("kas not found",
                   hint=f"make deps (kas goes into build/venv), or --kas PATH (or ${KAS_ENV})")


def prepare(work: Path, kas: Path, user_name: str, *, repo: Path = REPO,
            mirrors: Path | None = None, releases: Sequence[str] = ()) -> Settings:
    """Create the work dir (owned by the build user) with the private git config."""
    user = build_user(user_name)
    work = work.absolute()
    home = work / "home"
    per_release = [work / release for release in releases]
    directories = [work, home, work / "tmp", work / "logs", *per_release]
    for directory in directories:
        directory.mkdir(parents=True, exist_ok=True)
    settings = Settings(repo=repo, work=work, kas=kas, runner=Runner(user=user, home=home))
    if mirrors is not None:
        settings.gitconfig.write_text(gitconfig_text(repo, mirrors, releases))
    # logs/ is written by us (root); the build user only needs to read it.
    gitconfig = [settings.gitconfig] if settings.gitconfig.exists() else []
    settings.runner.give([*directories, *gitconfig])
    _check_kas_runs(settings)
    return settings


def _check_kas_runs(settings: Settings) -> None:
    # A venv made from root's own python (pyenv under /root) cannot run as
    # the build user: say so now rather than in the middle of the matrix.
    argv = settings.runner.argv([str(settings.kas), "--version"], {})
    proc = subprocess.run(argv, text=True, capture_output=True, check=False)
    if proc.returncode != 0:
        raise BedError(f"{settings.kas} does not run as {settings.runner.user or 'this user'}: "
                       + tail(proc.stderr or proc.stdout, 3),
                       hint="make its venv from Debian's python: /usr/bin/python3 -m venv <dir>")


# ------------------------------------------------------------ running kas

def kas_env(settings: Settings, release: str) -> dict[str, str]:
    return {
        "KAS_WORK_DIR": str(settings.kas_work(release)),
        "KAS_BUILD_DIR": str(settings.build_dir(release)),
        # kas runs git with its own HOME; it copies this file there.
        "GITCONFIG_FILE": str(settings.gitconfig),
        # The locked commit only, not the whole history (the snapshots are
        # partial clones: some old blobs are missing, so a full clone fails).
        "KAS_CLONE_DEPTH": "1",
        **scratch_env(settings),
    }


def scratch_env(settings: Settings) -> dict[str, str]:
    """Where kas makes its temporary HOME (/tmp may not be writable by the build user).

    Not TMPDIR: kas passes that through to bitbake, where it would replace
    bitbake's own TMPDIR (the build's tmp). Python's tempfile reads TMP too.
    """
    return {"TMP": str(settings.work / "tmp")}


@dataclass(frozen=True, slots=True)
class Step:
    output: str
    seconds: float


def run_logged(settings: Settings, argv: Sequence[str], env: dict[str, str],
               log_name: str) -> tuple[int, str, float]:
    """Run one command as the build user; keep its whole output in logs/<log_name>."""
    start = time.monotonic()
    proc = subprocess.run(settings.runner.argv(argv, env), cwd=settings.repo, text=True,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, check=False)
    (settings.logs / log_name).write_text(proc.stdout)
    return proc.returncode, proc.stdout, time.monotonic() - start


def run_step(settings: Settings, argv: Sequence[str], env: dict[str, str],
             log_name: str) -> Step:
    returncode, output, seconds = run_logged(settings, argv, env, log_name)
    if returncode != 0:
        raise BedError(f"{shlex.join(argv)} failed (exit {returncode}, {seconds:.0f} s; "
                       f"full log: {settings.logs / log_name}):\n"
                       + tail(output, FAILURE_TAIL_LINES))
    return Step(output, seconds)


# -------------------------------------------------------- the three checks

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

    @property
    def graph_tail(self) -> str:
        return tail(self.graph.output, GRAPH_TAIL_LINES) if self.graph else ""

    @property
    def licenses_summary(self) -> str:
        if self.licenses is None:
            return ""
        found = [line for line in self.licenses.output.splitlines() if "Tasks Summary" in line]
        return found[-1].strip() if found else ""


def populate_lic_log(build: Path, recipe: str) -> Path | None:
    """The newest log.do_populate_lic of ``recipe`` in ``build`` (tmp or tmp-<libc>)."""
    logs = sorted(build.glob(f"tmp*/work/*/{recipe}/*/temp/log.do_populate_lic"),
                  key=lambda p: p.stat().st_mtime)
    return logs[-1] if logs else None


def check_config(settings: Settings, config: Config) -> ConfigResult:
    """The three checks of one configuration; a failure is recorded, not raised,
    so that one broken configuration does not hide the others."""
    result = ConfigResult(config)
    try:
        _run_checks(settings, result)
    except BedError as error:
        result.error = str(error)
        say(f"{config.name}: FAILED: {tail(str(error), 3)}")
    return result


# All three steps run in ONE kas shell: one kas setup per configuration, and
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


def steps_script() -> str:
    """A shell script running STEPS, each announced by a marker line with a timestamp."""
    lines = ["set -e"]
    for name, command in STEPS:
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


def _run_checks(settings: Settings, result: ConfigResult) -> None:
    config = result.config
    build = settings.build_dir(config.release)
    log_name = f"{config.name.replace('/', '-')}.log"
    say(f"{config.name}: bitbake -p, -g {IMAGE}, -c populate_lic ...")
    argv = [str(settings.kas), "shell", config.kas_arg("offline"), "-c", steps_script()]
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
        raise BedError(f"step {failed} failed (exit {returncode}; full log: "
                       f"{settings.logs / log_name}):\n{tail(output, FAILURE_TAIL_LINES)}")
    say(f"{config.name}: done in {seconds:.0f} s; {len(result.buildlist)} recipes in "
        f"pn-buildlist; {result.licenses_summary}")


def checkout(settings: Settings, release: str) -> Step:
    """Let kas clone the release's repos from the snapshots, at the locked commits."""
    config = Config(release, MACHINES[0], INIT_MANAGERS[0])
    argv = [str(settings.kas), "checkout", config.kas_arg("offline")]
    return run_step(settings, argv, kas_env(settings, release), f"{release}-checkout.log")


def locked_commits(repo: Path, release: str) -> dict[str, str]:
    """repo name -> commit, from kas/release/<release>.lock.yml (the format kas lock writes)."""
    text = (repo / "kas" / "release" / f"{release}.lock.yml").read_text()
    pairs = re.findall(r"^\s{4}([\w.-]+):\s*\n\s{6}commit:\s*([0-9a-f]{40})\s*$", text,
                       re.MULTILINE)
    return dict(pairs)


def checked_out_commit(settings: Settings, release: str, name: str) -> str | None:
    checkout_dir = settings.kas_work(release) / name
    if not checkout_dir.is_dir():
        return None
    argv = ["git", "-C", str(checkout_dir), "rev-parse", "HEAD"]
    proc = subprocess.run(settings.runner.argv(argv, {}), text=True, capture_output=True,
                          check=False)
    return proc.stdout.strip() if proc.returncode == 0 else None


# ------------------------------------------------------- yocto-check-layer

@dataclass(frozen=True, slots=True)
class CheckLayerResult:
    release: str
    passed: bool
    summary: str
    seconds: float


def check_layer(settings: Settings, release: str) -> CheckLayerResult:
    """yocto-check-layer on meta-lmw in a fresh plain oe-init-build-env build dir."""
    kas_work = settings.kas_work(release)
    build = kas_work / "check-layer"
    # A reused build dir gives spurious signature errors: always start fresh.
    shutil.rmtree(build, ignore_errors=True)
    log_name = f"{release}-check-layer.log"
    script = " && ".join([
        f"cd {shlex.quote(str(kas_work))}",
        f". ./openembedded-core/oe-init-build-env {shlex.quote(str(build))} >/dev/null",
        "echo 'BB_NO_NETWORK = \"1\"' >> conf/local.conf",
        f"yocto-check-layer -o {shlex.quote(str(build / 'ycl.log'))} "
        f"{shlex.quote(str(settings.repo / LAYER))}",
    ])
    returncode, output, seconds = run_logged(settings, ["bash", "-c", script],
                                             scratch_env(settings), log_name)
    summary = _check_layer_summary(output)
    passed = returncode == 0 and " FAIL" not in summary
    return CheckLayerResult(release, passed, summary, seconds)


def _check_layer_summary(output: str) -> str:
    lines = output.splitlines()
    starts = [i for i, line in enumerate(lines) if "Summary of results" in line]
    if starts:
        return "\n".join(lines[starts[-1]:])
    return tail(output, 15)


# ------------------------------------------------------------- kas dump

def dump_configs(releases: Sequence[str]) -> list[Config]:
    return matrix(releases, [*MACHINES, *OPTIONAL_MACHINES], INIT_MANAGERS)


_SCHEMA_CHECK = """
import json, sys, yaml, jsonschema
from kas.configschema import CONFIGSCHEMA
for name in sys.argv[1:]:
    with open(name) as f:
        jsonschema.validate(yaml.safe_load(f), CONFIGSCHEMA)
print(json.dumps(sys.argv[1:]))
"""


def dump_check(repo: Path, kas: Path, releases: Sequence[str], work: Path) -> list[str]:
    """kas dump of every combination (all opt files too) and the schema on every file.

    kas dump normally clones the repos first; skipping its checkout steps
    keeps it offline, and the config it prints is still the merged one
    (lock overrides included). Returns the combinations checked.
    """
    kas_python = kas.parent / "python3"
    files = sorted(str(p.relative_to(repo)) for p in (repo / "kas").rglob("*.yml"))
    hostenv.run([kas_python, "-c", _SCHEMA_CHECK, *files], cwd=repo)
    env = {**os.environ, "KAS_WORK_DIR": str(work), "KAS_BUILD_DIR": str(work / "build")}
    work.mkdir(parents=True, exist_ok=True)
    checked: list[str] = []
    # Each combination as a product build (no opt files) and as a test build.
    for config, options in itertools.product(dump_configs(releases), [(), ("offline", "test")]):
        arg = config.kas_arg(*options)
        proc = subprocess.run([str(kas), "dump", *KAS_SKIP_CHECKOUT, arg], cwd=repo, env=env,
                              text=True, capture_output=True, check=False)
        if proc.returncode != 0:
            raise BedError(f"kas dump {arg} failed:\n{tail(proc.stderr, FAILURE_TAIL_LINES)}")
        _check_dump(config, proc.stdout, locked_commits(repo, config.release))
        checked.append(arg)
    return checked


def _check_dump(config: Config, dumped: str, locks: dict[str, str]) -> None:
    # The dump is YAML; the few facts we need are plain lines.
    if f"machine: {config.machine}" not in dumped:
        raise BedError(f"kas dump of {config.name} does not set machine {config.machine}")
    if f'INIT_MANAGER = "{config.init}"' not in dumped:
        raise BedError(f"kas dump of {config.name} does not set INIT_MANAGER {config.init}")
    for name, commit in locks.items():
        if commit not in dumped:
            raise BedError(f"kas dump of {config.name}: the lock of {name} ({commit}) "
                           "is not applied (is the release file first?)")


# ----------------------------------------------------------------- the CLI

def run_matrix(settings: Settings, configs: Sequence[Config],
               check_layer_too: bool) -> tuple[list[ConfigResult], list[CheckLayerResult]]:
    results: list[ConfigResult] = []
    layer_results: list[CheckLayerResult] = []
    for release in dict.fromkeys(c.release for c in configs):
        step = checkout(settings, release)
        _verify_checkout(settings, release)
        say(f"{release}: kas checkout from the snapshots in {step.seconds:.0f} s")
        results += [check_config(settings, c) for c in configs if c.release == release]
        if check_layer_too:
            say(f"{release}: yocto-check-layer (7 to 13 minutes)")
            layer_results.append(check_layer(settings, release))
    return results, layer_results


def _verify_checkout(settings: Settings, release: str) -> None:
    for name, commit in locked_commits(settings.repo, release).items():
        actual = checked_out_commit(settings, release, name)
        if actual not in (None, commit):
            raise BedError(f"{release}: kas checked out {name} at {actual}, the lock says {commit}")


def report(results: Sequence[ConfigResult], layer_results: Sequence[CheckLayerResult]) -> None:
    for result in results:
        print(f"== {result.config.name}")
        parse = result.parse.seconds if result.parse else 0.0
        graph = result.graph.seconds if result.graph else 0.0
        lic = result.licenses.seconds if result.licenses else 0.0
        print(f"   times: parse {parse:.0f} s, -g {graph:.0f} s, populate_lic {lic:.0f} s")
        print("   bitbake -g lmw-image (last lines):")
        for line in result.graph_tail.splitlines():
            print(f"     {line}")
        missing = [r for r in (*IMAGE_CONTENT, IMAGE) if r not in result.buildlist]
        print(f"   pn-buildlist: {len(result.buildlist)} recipes; ours missing: "
              f"{', '.join(missing) or 'none'}")
        print(f"   populate_lic: {result.licenses_summary}")
        if result.error:
            print(f"   FAILED: {result.error}")
    for layer in layer_results:
        print(f"== yocto-check-layer {layer.release}: {'PASS' if layer.passed else 'FAIL'} "
              f"({layer.seconds:.0f} s)")
        for line in layer.summary.splitlines():
            print(f"     {line}")


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="oe-check", description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--release", action="append",
                        help="release to check (default: all of LAYERSERIES_COMPAT_lmw)")
    parser.add_argument("--machine", action="append", choices=[*MACHINES, *OPTIONAL_MACHINES],
                        help=f"machine (default: {', '.join(MACHINES)})")
    parser.add_argument("--init", action="append", choices=INIT_MANAGERS,
                        help="init manager (default: both)")
    parser.add_argument("--check-layer", action="store_true",
                        help="also run yocto-check-layer per release (7 to 13 min each)")
    parser.add_argument("--dump-only", action="store_true",
                        help="only kas dump + schema of every combination (no sources needed)")
    parser.add_argument("--work-dir", type=Path,
                        default=Path(os.environ.get(WORK_ENV, DEFAULT_WORK)),
                        help=f"build dirs and logs (default ${WORK_ENV} or {DEFAULT_WORK})")
    parser.add_argument("--kas", help=f"the kas executable (default ${KAS_ENV}, or PATH)")
    parser.add_argument("--user", default=os.environ.get(USER_ENV, DEFAULT_USER),
                        help=f"build user when run as root (default {DEFAULT_USER})")
    return parser


def _selected_releases(args: argparse.Namespace) -> list[str]:
    claimed = claimed_releases()
    chosen: list[str] = args.release or claimed
    unknown = [r for r in chosen if r not in claimed]
    if unknown:
        raise BedError(f"release {', '.join(unknown)} is not claimed by the layer",
                       hint=f"one of: {', '.join(claimed)}")
    return chosen


# Host tools that bitbake's sanity check demands (HOSTTOOLS) and that a
# plain Debian or Ubuntu lacks, with their packages; the rest come with
# build-essential, git and python3.
BITBAKE_HOST_TOOLS = {"chrpath": "chrpath", "diffstat": "diffstat", "gawk": "gawk",
                      "lz4c": "lz4", "pzstd": "zstd", "rpcgen": "rpcsvc-proto",
                      "cpio": "cpio", "file": "file", "wget": "wget"}


def preflight_host() -> None:
    """Everything bitbake's sanity check wants, said at once, before any clone."""
    missing = sorted({package for tool, package in BITBAKE_HOST_TOOLS.items()
                      if not shutil.which(tool)})
    if missing:
        raise BedError(f"bitbake needs host packages: {' '.join(missing)}",
                       hint=f"apt-get install {' '.join(missing)}")
    locales = subprocess.run(["locale", "-a"], capture_output=True, text=True, check=False)
    if not re.search(r"^en_US\.utf-?8$", locales.stdout, re.IGNORECASE | re.MULTILINE):
        raise BedError("bitbake needs the en_US.UTF-8 locale",
                       hint="apt-get install locales && sed -i 's/^# *en_US.UTF-8 UTF-8/"
                            "en_US.UTF-8 UTF-8/' /etc/locale.gen && locale-gen")


def run(args: argparse.Namespace) -> int:
    releases = _selected_releases(args)
    kas = find_kas(args.kas)
    if args.dump_only:
        for arg in dump_check(REPO, kas, releases, args.work_dir.absolute() / "dump"):
            print(f"kas dump ok: {arg}")
        return EXIT_OK
    preflight_host()
    mirrors = find_mirrors()
    settings = prepare(args.work_dir, kas, args.user, mirrors=mirrors, releases=releases)
    configs = matrix(releases, args.machine or MACHINES, args.init or INIT_MANAGERS)
    results, layer_results = run_matrix(settings, configs, args.check_layer)
    report(results, layer_results)
    failed = [r.config.name for r in results if r.error]
    failed += [f"yocto-check-layer {layer.release}" for layer in layer_results
               if not layer.passed]
    if failed:
        raise BedError(f"failed: {', '.join(failed)}; logs in {settings.logs}")
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    args = make_parser().parse_args(argv)
    return run_command("oe-check", lambda: run(args))


if __name__ == "__main__":
    sys.exit(main())
