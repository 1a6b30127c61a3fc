# meta-lmw entry points (see README.md):
#   make demo   boot the default board (QEMU) with the LMW stack and show it at work
#   make test   install what is needed, build, run every test (host + every guest)
#   make lint   ruff, mypy --strict, shellcheck; kernel C: checkpatch --strict
#               and warning-free W=1 builds against every claimed kernel
# Everything lands in build/ (git-ignored); LMW_CACHE moves the guest cache.

VENV   := build/venv
PYTHON := $(VENV)/bin/python3
DEPS   := build/deps.stamp
SHELL_SCRIPTS := scripts/install-deps .ci/run scripts/lmwbed/guestfiles/init \
                 scripts/lmwbed/guestfiles/rcS \
                 meta-lmw/recipes-support/lmw-terminator/files/lmw-terminator.init

.PHONY: all deps demo test test-quick lint clean

all: test

deps: $(DEPS)

$(DEPS): scripts/install-deps requirements-dev.txt
	scripts/install-deps
	@mkdir -p $(dir $@) && touch $@

demo: $(DEPS)
	$(PYTHON) scripts/demo

test: $(DEPS)
	$(PYTHON) scripts/run-tests

# One guest only (6.1 x86_64, initramfs) plus the host tests: for quick edits.
test-quick: $(DEPS)
	$(PYTHON) scripts/run-tests --quick

lint: $(DEPS)
	$(VENV)/bin/ruff check scripts tests meta-lmw
	$(VENV)/bin/mypy
	shellcheck $(SHELL_SCRIPTS)
	PYTHONPATH=scripts $(PYTHON) -m lmwbed.kernelcheck

clean:
	rm -rf build
