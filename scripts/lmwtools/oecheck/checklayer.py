"""yocto-check-layer on meta-lmw, per release, in a fresh build dir; or its signature rule alone.

``check_layer`` runs the whole tool (make oe-check). ``check_signature_rule``
runs the one rule that only bitbake can check, through the tool's own
code (oe-core's ``scripts/lib/checklayer``), at half the cost (make test):

- the tool parses oe-core three times and computes the world's signatures
  four times (before the layer; with it, for ``test_world``,
  ``test_world_inherit_class`` and ``test_signatures``);
- the rule needs two of each: the world's signatures before and after
  the layer is added, both with ``yocto-check-layer.bbclass`` inherited
  (its per-recipe checks, ``test_world_inherit_class``), the second with
  no error allowed (``test_world``), then ``compare_signatures``.

The tool's other cases read files (the README, SECURITY.md, patches'
Upstream-Status, LAYERSERIES_COMPAT): tests/unit/test_layer_rules.py
checks those everywhere.
"""

from __future__ import annotations

import shlex
import shutil
from dataclasses import dataclass
from pathlib import Path

from .kas import FIXED_HASH_SEED, Settings, run_logged, scratch_env, tail


@dataclass(frozen=True, slots=True)
class CheckLayerResult:
    release: str
    passed: bool
    summary: str
    seconds: float


def _fresh_build_script(settings: Settings, release: str, build: Path, command: str) -> str:
    """Empties ``build``, then returns a shell script that runs ``command`` in it
    as a plain oe-init-build-env build dir, offline."""
    kas_work = settings.kas_work(release)
    # A reused build dir gives spurious signature errors: always start fresh.
    shutil.rmtree(build, ignore_errors=True)
    # The bitbake runs inherit the fixed seed: the runs of one configuration
    # share its parse cache. No resident server (kas.RESIDENT_SERVER): these
    # runs change the configuration from one to the next (the layer, the
    # signature handler, INHERIT), so it would parse again all the same.
    return " && ".join([
        FIXED_HASH_SEED,
        f"cd {shlex.quote(str(kas_work))}",
        f". ./openembedded-core/oe-init-build-env {shlex.quote(str(build))} >/dev/null",
        "echo 'BB_NO_NETWORK = \"1\"' >> conf/local.conf",
        command,
    ])


def check_layer(settings: Settings, release: str) -> CheckLayerResult:
    """yocto-check-layer on meta-lmw in a fresh plain oe-init-build-env build dir."""
    build = settings.kas_work(release) / "check-layer"
    script = _fresh_build_script(
        settings, release, build,
        f"yocto-check-layer -o {shlex.quote(str(build / 'ycl.log'))} "
        f"{shlex.quote(str(settings.repo / 'meta-lmw'))}")
    returncode, output, seconds = run_logged(settings, ["bash", "-c", script],
                                             scratch_env(settings), f"{release}-check-layer.log")
    summary = _check_layer_summary(output)
    passed = returncode == 0 and " FAIL" not in summary
    return CheckLayerResult(release, passed, summary, seconds)


def _check_layer_summary(output: str) -> str:
    lines = output.splitlines()
    starts = [i for i, line in enumerate(lines) if "Summary of results" in line]
    if starts:
        return "\n".join(lines[starts[-1]:])
    return tail(output, 15)


# Runs in the build dir's environment, with yocto-check-layer's library
# (argv: oe-core's scripts/lib, the layer). Its last line starts with
# _VERDICT: PASS, or FAIL and why.
_VERDICT = "### signature rule:"
_SIGNATURE_RULE = f"""
import logging, os, sys
lib, layer_dir = sys.argv[1:3]
sys.path.append(lib)
import scriptpath
scriptpath.add_oe_lib_path()
scriptpath.add_bitbake_lib_path()
from checklayer import LayerType, add_layers, compare_signatures, detect_layers, get_signatures

logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stdout)
logger = logging.getLogger("signature-rule")
builddir = os.environ["BUILDDIR"]
# as yocto-check-layer's test_world_inherit_class passes it
checks = ('BB_ENV_PASSTHROUGH_ADDITIONS="$BB_ENV_PASSTHROUGH_ADDITIONS INHERIT" '
          'INHERIT="yocto-check-layer"')
layers = detect_layers([layer_dir], True)
if len(layers) != 1 or layers[0]["type"] != LayerType.SOFTWARE:
    print("{_VERDICT} FAIL: not one software layer:", layers, flush=True)
    sys.exit(1)
try:
    logger.info("world signatures without %s ...", layers[0]["name"])
    before, _ = get_signatures(builddir, extravars=checks)
    add_layers(os.path.join(builddir, "conf", "bblayers.conf"), layers, logger)
    logger.info("world signatures with it ...")
    after, _ = get_signatures(builddir, extravars=checks)
except RuntimeError as error:
    print(error)
    print("{_VERDICT} FAIL: bitbake -S lockedsigs world failed (output above)", flush=True)
    sys.exit(1)
changed = compare_signatures(before, after)
if changed:
    print(changed)
    print("{_VERDICT} FAIL: adding the layer changed signatures (above)", flush=True)
    sys.exit(1)
print("{_VERDICT} PASS:", len(before), "tasks before,", len(after), "with the layer,",
      "no signature changed", flush=True)
"""


def check_signature_rule(settings: Settings, release: str) -> CheckLayerResult:
    """yocto-check-layer's signature rule on meta-lmw (see the module docstring)."""
    kas_work = settings.kas_work(release)
    build = kas_work / "signature-rule"
    command = shlex.join(["python3", "-c", _SIGNATURE_RULE,
                          str(kas_work / "openembedded-core" / "scripts" / "lib"),
                          str(settings.repo / "meta-lmw")])
    script = _fresh_build_script(settings, release, build, command)
    returncode, output, seconds = run_logged(settings, ["bash", "-c", script],
                                             scratch_env(settings),
                                             f"{release}-signature-rule.log")
    verdicts = [line for line in output.splitlines() if line.startswith(_VERDICT)]
    passed = returncode == 0 and bool(verdicts) and verdicts[-1].startswith(f"{_VERDICT} PASS")
    summary = verdicts[-1] if passed else tail(output, 30)
    return CheckLayerResult(release, passed, summary, seconds)
