"""yocto-check-layer on meta-lmw, per release, in a fresh build dir."""

from __future__ import annotations

import shlex
import shutil
from dataclasses import dataclass

from .kas import Settings, run_logged, scratch_env, tail


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
        f"{shlex.quote(str(settings.repo / 'meta-lmw'))}",
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
