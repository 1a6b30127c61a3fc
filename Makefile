# meta-lmw entry points (README.md; docs/ by topic):
#   make demo   boot the default board (QEMU) with the LMW stack and show it at work
#   make test   install what is needed, build, run every test (host + every guest)
#   make bench  meta-lmw against no protection, strict overcommit, earlyoom and
#               nohang in QEMU guests: report + plots in build/bench/ (~25 min)
#   make lint   ruff, mypy --strict, shellcheck; kernel C: checkpatch --strict
#               and warning-free W=1 builds against every claimed kernel;
#               recipes: oelint-adv for each Yocto release the layer claims
#   make test-place PLACE=rpi4-1 ENV=tests/env/rpi4-64-remote.yaml
#               the suite on a place of a labgrid farm, locked around the run
#               (coordinator: $LG_COORDINATOR; docs/boards-and-farms.md)
#   make oe-check  bitbake -p/-g, license checks, yocto-check-layer, offline
#               (needs snapshots of the upstream layers: docs/yocto.md)
#   make br-check  br2-external/ under the real Buildroot, offline: check-package,
#               defconfigs, show-info, kernel fixups (docs/buildroot.md)
# Everything lands in build/ (git-ignored); LMW_CACHE moves the guest cache.

VENV   := build/venv
PYTHON := $(VENV)/bin/python3
DEPS   := build/deps.stamp
SHELL_SCRIPTS := scripts/install-deps .ci/run scripts/lmwtools/bed/initfiles/init \
                 scripts/lmwtools/bed/initfiles/rcS \
                 scripts/lmwtools/bed/initfiles/modutils.sh \
                 scripts/lmwtools/suite/demo.sh \
                 meta-lmw/recipes-support/lmw-terminator/files/lmw-terminator.init \
                 meta-lmw/recipes-support/lmw-sysctl/files/lmw-sysctl \
                 meta-lmw/recipes-support/lmw-sysctl/files/lmw-sysctl.init \
                 meta-lmw/recipes-kernel/linux/linux-yocto/lmw-kconfig \
                 meta-lmw/scripts/lmw-check-swapless \
                 br2-external/board/lmw/post-image-bmap.sh \
                 $(wildcard scripts/lmwtools/bench/workloads/*.sh)
# The releases in meta-lmw/conf/layer.conf's LAYERSERIES_COMPAT_lmw.
YOCTO_RELEASES := $(shell sed -n 's/^LAYERSERIES_COMPAT_lmw = "\(.*\)"/\1/p' meta-lmw/conf/layer.conf)
LAYER_METADATA := $(shell find meta-lmw -name '*.bb' -o -name '*.bbappend' -o -name '*.bbclass' | sort)

.PHONY: all deps demo test test-quick test-place bench lint oe-check br-check clean

all: test

deps: $(DEPS)

$(DEPS): scripts/install-deps requirements-dev.txt requirements-farm.txt
	scripts/install-deps
	@mkdir -p $(dir $@) && touch $@

demo: $(DEPS)
	$(PYTHON) scripts/demo

test: $(DEPS)
	$(PYTHON) scripts/run-tests

# One guest only (6.1 x86_64, initramfs) plus the host tests: for quick edits.
test-quick: $(DEPS)
	$(PYTHON) scripts/run-tests --quick

# BENCH_ARGS: e.g. --smoke, --only hook,latency, --update-readme (scripts/bench --help)
bench: $(DEPS)
	$(PYTHON) scripts/bench $(BENCH_ARGS)

# TESTS: which tests (default: scripts/farm's, what runs on a test image)
test-place: $(DEPS)
	@test -n "$(PLACE)" -a -n "$(ENV)" || { echo "usage: make test-place PLACE=<place>" \
		"ENV=tests/env/<board>-remote.yaml [TESTS='tests/image ...']" >&2; exit 2; }
	$(PYTHON) scripts/farm test --place "$(PLACE)" --env "$(ENV)" -- $(TESTS)

lint: $(DEPS)
	$(VENV)/bin/ruff check scripts tests meta-lmw
	$(VENV)/bin/mypy
	shellcheck $(SHELL_SCRIPTS)
	$(PYTHON) scripts/lint-kernel
	$(PYTHON) scripts/lint-versions
	@# settings and justified suppressions: .oelint.cfg
	test -n "$(YOCTO_RELEASES)" || { echo "no LAYERSERIES_COMPAT_lmw in layer.conf" >&2; exit 1; }
	set -e; for release in $(YOCTO_RELEASES); do \
		echo "oelint-adv --release $$release"; \
		$(VENV)/bin/oelint-adv --release $$release $(LAYER_METADATA); done

# The layer through the real bitbake, offline: every claimed release,
# machine and init manager, then yocto-check-layer (30 to 35 minutes).
# Needs upstream snapshots in $LMW_UPSTREAM (docs/yocto.md, Checks).
oe-check: $(DEPS)
	$(PYTHON) scripts/oe-check --check-layer

# The Buildroot tree through the real Buildroot, offline (about a minute).
# Needs the Buildroot snapshot in $LMW_UPSTREAM (docs/buildroot.md).
br-check: $(DEPS)
	$(PYTHON) scripts/br-check

clean:
	rm -rf build
