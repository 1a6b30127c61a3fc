"""meta-lmw's tooling: one subpackage per tool, each tool's manual the docstring of its cli.

The map (a wrapper in scripts/ starts each tool, see core/launch.py):

==========  ====================  ============================================
package     command               what it is for
==========  ====================  ============================================
core/       (none)                UserError and exit codes, progress lines,
                                  paths, host tools, build-once artifacts,
                                  reading the layer's recipes, the upstream
                                  snapshots ($LMW_UPSTREAM)
bed/        scripts/testbed       QEMU guests on Debian's kernels with the
                                  layer's payload: build, shell, exec
lab/        (none)                labgrid glue: LmwStrategy, shell helpers
                                  for tests, farm places and their locks
suite/      scripts/run-tests,    the test suite's sessions and summary;
            scripts/demo          make demo's timeline (demo.sh)
lint/       scripts/lint-kernel   make lint's kernel C: checkpatch, W=1
versions/   scripts/lint-versions make lint's one version: no source change
                                  under the same LMW_VERSION
oecheck/    scripts/oe-check      the layer through the real bitbake, offline
brcheck/    scripts/br-check      the Buildroot tree through the real
                                  Buildroot, offline
flash/      scripts/flash         an image to an SD card or a farm board
farm/       scripts/farm          the suite on a farm place; a loopback farm
bench/      scripts/bench         make bench: meta-lmw against the peers
==========  ====================  ============================================

The layers, which tests/unit/test_layout.py holds: core imports nothing
of ours; bed and lab import only core; the tools above them (suite, lint,
versions, oecheck, brcheck, flash, farm, bench) import core, bed and lab
but not each other,
except farm, which runs the suite's pytest (suite.runner).
"""
