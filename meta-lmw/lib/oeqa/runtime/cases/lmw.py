#
# SPDX-License-Identifier: MIT
# Copyright (c) 2026 The meta-lmw authors
#
"""testimage cases for the LMW stack: TEST_SUITES += "lmw".

The in-build smoke test of an image with packagegroup-lmw (runqemu or a
board over SSH). The full suite is tests/ in the meta-lmw repository,
which labgrid runs on QEMU and on boards alike.
"""

from oeqa.core.decorator.depends import OETestDepends
from oeqa.runtime.case import OERuntimeTestCase
from oeqa.runtime.decorator.package import OEHasPackage

WATERMARKS = "/proc/sys/vm/lowmem_notify_watermark /proc/sys/vm/lowmem_deny_watermark"
SYSFS = "/sys/kernel/lmw/watermark"


class LmwTest(OERuntimeTestCase):

    def run_ok(self, command: str) -> str:
        status, output = self.target.run(command)
        self.assertEqual(status, 0, msg=f"{command} failed: {output}")
        return output

    @OETestDepends(["ssh.SSHTest.test_ssh"])
    def test_lmw_swapless(self) -> None:
        # CONFIG_SWAP off: no /proc/swaps at all, and swapon cannot work
        status, _ = self.target.run("test -e /proc/swaps")
        self.assertNotEqual(status, 0, msg="/proc/swaps exists: the kernel has swap")
        total = self.run_ok("sed -n 's/^SwapTotal: *//p' /proc/meminfo")
        self.assertEqual(total.strip(), "0 kB")

    @OEHasPackage(["kernel-module-lmw"])
    @OETestDepends(["ssh.SSHTest.test_ssh"])
    def test_lmw_module_autoloaded(self) -> None:
        self.run_ok("grep -q '^lmw ' /proc/modules")
        state = self.run_ok(f"cat {SYSFS}/state").strip()
        self.assertIn(state, ("normal", "notify", "deny"))

    @OEHasPackage(["lmw-sysctl"])
    @OETestDepends(["lmw.LmwTest.test_lmw_module_autoloaded"])
    def test_lmw_sysctl_defaults_live(self) -> None:
        wanted = self.run_ok(
            "sed -n 's/^vm[./]lowmem_\\(notify\\|deny\\)_watermark *= *//p' "
            "/etc/sysctl.d/90-lmw.conf").split()
        live = self.run_ok(f"cat {WATERMARKS}").split()
        self.assertEqual(live, wanted)

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
