#
# SPDX-License-Identifier: MIT
# Copyright (c) 2026 The meta-lmw authors
#
"""testimage cases for the LMW stack: TEST_SUITES += "lmw".

The in-build smoke test of an image with packagegroup-lmw: runqemu or a
board over SSH (testimage), or a board on its serial console (testexport's
oe-test, --target-type serial: TEST_SERIALCONTROL_CMD). The full suite is
tests/ in the meta-lmw repository, which labgrid runs on QEMU and on boards
alike.

The cases need a shell on the target and nothing else: no case depends on
ssh.SSHTest.test_ssh. That case passes only over SSH, with an SSH server
in the image; on a serial target, or in an image without one, every case
that depended on it was skipped, and the suite said nothing was wrong.
"""

from oeqa.core.decorator.depends import OETestDepends
from oeqa.runtime.case import OERuntimeTestCase
from oeqa.runtime.decorator.package import OEHasPackage

WATERMARKS = "/proc/sys/vm/lowmem_notify_watermark /proc/sys/vm/lowmem_deny_watermark"
SYSFS = "/sys/kernel/lmw/watermark"
# systemd-sysctl's folders, in its order (lmw-sysctl reads them so too)
SYSCTL_DIRS = ("/etc/sysctl.d", "/run/sysctl.d", "/usr/local/lib/sysctl.d", "/usr/lib/sysctl.d",
               "/lib/sysctl.d")
SYSCTL_CONF = "/etc/sysctl.conf"
LMW_CONF = "90-lmw.conf"
# Prints each sysctl file there is, "@@ PATH" and then its lines (a file
# that is a link to /dev/null masks that name, and prints no line).
LIST_SYSCTL = ("for f in " + " ".join(f"{d}/*.conf" for d in SYSCTL_DIRS) + f" {SYSCTL_CONF}; "
               'do [ -e "$f" ] && { echo "@@ $f"; cat "$f"; echo; }; done; true')


def sysctl_settings(lines: list[str]) -> list[tuple[str, str]]:
    """(key, value) for each setting of a sysctl file, as systemd-sysctl
    reads it: "key = value", "#" and ";" comments, "/" or "." between the
    parts of a key, and "-key" (it may be missing) counting as "key"."""
    settings = []
    for text in lines:
        line = text.strip()
        if not line or line[0] in "#;" or "=" not in line:
            continue
        key, value = (part.strip() for part in line.split("=", 1))
        settings.append((key.lstrip("-").replace("/", "."), value))
    return settings


def sysctl_files(listing: str) -> dict[str, list[str]]:
    """LIST_SYSCTL's output: path -> lines."""
    files: dict[str, list[str]] = {}
    lines: list[str] = []
    for line in listing.splitlines():
        if line.startswith("@@ "):
            lines = files.setdefault(line[3:].strip(), [])
        else:
            lines.append(line)
    return files


def sysctl_order(files: dict[str, list[str]]) -> list[str]:
    """The files that apply, in the order systemd-sysctl reads them: a
    name in an earlier folder hides that name in later ones, then the
    files in name order, SYSCTL_CONF last."""
    chosen: dict[str, str] = {}
    for folder in reversed(SYSCTL_DIRS):
        for path in files:
            if path.rpartition("/")[0] == folder:
                chosen[path.rpartition("/")[2]] = path
    order = [chosen[name] for name in sorted(chosen)]
    return [*order, SYSCTL_CONF] if SYSCTL_CONF in files else order


def sysctl_applied(files: dict[str, list[str]], order: list[str]) -> dict[str, str]:
    """key -> the value that applies: the files read in ``order``
    (sysctl_order), the last setting of a key winning."""
    return {key: value for path in order for key, value in sysctl_settings(files[path])}


class LmwTest(OERuntimeTestCase):

    def run_ok(self, command: str) -> str:
        status, output = self.target.run(command)
        self.assertEqual(status, 0, msg=f"{command} failed: {output}")
        return output

    def test_lmw_swapless(self) -> None:
        # CONFIG_SWAP off: no /proc/swaps at all, and swapon cannot work
        status, _ = self.target.run("test -e /proc/swaps")
        self.assertNotEqual(status, 0, msg="/proc/swaps exists: the kernel has swap")
        total = self.run_ok("sed -n 's/^SwapTotal: *//p' /proc/meminfo")
        self.assertEqual(total.strip(), "0 kB")

    @OEHasPackage(["kernel-module-lmw"])
    def test_lmw_module_autoloaded(self) -> None:
        self.run_ok("grep -q '^lmw ' /proc/modules")
        state = self.run_ok(f"cat {SYSFS}/state").strip()
        self.assertIn(state, ("normal", "notify", "deny"))

    @OEHasPackage(["lmw-sysctl"])
    @OETestDepends(["lmw.LmwTest.test_lmw_module_autoloaded"])
    def test_lmw_sysctl_defaults_live(self) -> None:
        # Each key of 90-lmw.conf holds the value that applies: its own, or
        # a later file's (a board may set one back there): lmw.ko's
        # watermarks, and the kernel's settings that the file turns off.
        # A kernel key is checked where this kernel has it
        # (vm.compaction_proactiveness: 5.9 on, and only with compaction).
        files = sysctl_files(self.run_ok(LIST_SYSCTL))
        order = sysctl_order(files)
        ours = [path for path in order if path.rpartition("/")[2] == LMW_CONF]
        self.assertTrue(ours, msg=f"no {LMW_CONF} in {', '.join(SYSCTL_DIRS)}")
        keys = [key for key, _ in sysctl_settings(files[ours[0]])]
        self.assertIn("vm.lowmem_notify_watermark", keys)
        self.assertIn("vm.lowmem_deny_watermark", keys)
        applied = sysctl_applied(files, order)
        for key in keys:
            path = "/proc/sys/" + key.replace(".", "/")
            status, live = self.target.run(f"cat {path}")
            if status != 0 and not key.startswith("vm.lowmem_"):
                continue    # a kernel without the setting
            self.assertEqual(status, 0, msg=f"{path}: {live}")
            self.assertEqual(live.split(), applied[key].split(), msg=f"{key} is not applied")

    # OEHasPackage runs a case when any package of its list is installed:
    # one decorator per package that the case needs.
    @OEHasPackage(["kernel-module-lmw"])
    @OEHasPackage(["lmwtest"])
    @OETestDepends(["lmw.LmwTest.test_lmw_module_autoloaded"])
    def test_lmw_denies_unprivileged_past_the_line(self) -> None:
        # a deny line 5% of RAM above what is committed now: half of RAM
        # more must be refused to an unprivileged caller and granted to
        # root. lmwtest (the test images' helper, kas/opt/test.yml) commits
        # with mmap and drops to the uid given by -u itself: no python3
        # module or su needed in the image.
        saved = self.run_ok(f"cat {WATERMARKS}").split()
        committed = int(self.run_ok(f"cat {SYSFS}/committed_kb"))
        total = int(self.run_ok(f"cat {SYSFS}/totalram_kb"))
        deny = (committed * 100) // total + 5
        half = total // 2
        try:
            self.run_ok(f"echo {deny - 1} > /proc/sys/vm/lowmem_notify_watermark && "
                        f"echo {deny} > /proc/sys/vm/lowmem_deny_watermark")
            status, output = self.target.run(f"lmwtest -u 65534 commit mmap {half} {half}")
            self.assertNotEqual(status, 0, msg=f"unprivileged commit past deny granted: {output}")
            self.assertIn("errno=ENOMEM", output.splitlines())
            granted = self.run_ok(f"lmwtest commit mmap {half} {half}")
            self.assertIn("refused=0", granted.splitlines())
        finally:
            self.run_ok(f"echo {saved[0]} > /proc/sys/vm/lowmem_notify_watermark && "
                        f"echo {saved[1]} > /proc/sys/vm/lowmem_deny_watermark")

    @OEHasPackage(["lmw-terminator"])
    @OETestDepends(["lmw.LmwTest.test_lmw_module_autoloaded"])
    def test_lmw_terminator_watches_the_module(self) -> None:
        status = self.run_ok("cat /run/lmw/terminator.status")
        self.assertIn("source=lmw", status.splitlines())
