"""The payload is found in the layer and staged by each component's own install rule."""

from __future__ import annotations

from pathlib import Path

from lmwtools.bed import payload
from lmwtools.bed.catalog import ARCHES, KERNELS
from lmwtools.bed.kernels import KernelTree

INSTALL_MAKEFILE = """\
install:
\tinstall -D -m 0644 defaults.conf $(DESTDIR)/etc/demo/defaults.conf
"""


def _layer(tmp_path: Path) -> Path:
    layer = tmp_path / "meta-demo"
    tool = layer / "recipes-support" / "demo-tool" / "files" / "demo-tool"
    tool.mkdir(parents=True)
    (tool / "Makefile").write_text(INSTALL_MAKEFILE)
    (tool / "defaults.conf").write_text("x = 1\n")
    (tool / "sub").mkdir()
    (tool / "sub" / "Makefile").write_text("# part of demo-tool's build\n")
    kmod = layer / "recipes-kernel" / "demo-mod" / "files" / "demo-mod"
    kmod.mkdir(parents=True)
    (kmod / "Makefile").write_text("all:\n")
    (kmod / "Kbuild").write_text("obj-m := demo.o\n")
    (layer / "conf").mkdir()
    (layer / "conf" / "Makefile").write_text("# not under recipes-*: not a component\n")
    return layer


def test_components_are_discovered_not_listed(tmp_path: Path) -> None:
    found = {c.name: c for c in payload.discover((_layer(tmp_path),), layer_like=True)}
    assert sorted(found) == ["demo-mod", "demo-tool"]
    assert found["demo-mod"].is_kernel_module
    assert not found["demo-tool"].is_kernel_module


def test_userspace_component_is_staged_by_make_install(tmp_path: Path) -> None:
    parts = [c for c in payload.discover((_layer(tmp_path),), layer_like=True)
             if not c.is_kernel_module]
    tree = KernelTree(series=KERNELS["6.1"], arch=ARCHES["x86_64"], release="9.9.9-test",
                      version="9.9.9-1", root=tmp_path)
    destdir = payload.stage(tree, tmp_path / "stage", parts)
    assert (destdir / "etc" / "demo" / "defaults.conf").read_text() == "x = 1\n"


def test_the_real_layer_and_test_modules_are_found() -> None:
    names = [c.name for c in payload.components()]
    assert "lmw_hello" in names
