"""The payload: what meta-lmw's recipes install, staged by the recipes' own rules.

A *component* is a folder with a Makefile: the source that one recipe
builds. A folder that also has a ``Kbuild`` file is a kernel module and
goes through kbuild.build_and_install (module.bbclass's two make calls);
any other runs ``make install DESTDIR=<stage>``, which is what the
recipe's do_install calls. Components are found, not listed: every
``meta-lmw/recipes-*/**/Makefile`` is one, so adding a recipe's source
adds it to the guests with no second list to keep in step.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..core.artifact import build_once, fingerprint
from ..core.host import run
from ..core.paths import LAYER, TEST_PAYLOAD
from . import kbuild
from .kbuild import build_and_install, fresh_copy
from .kernels import KernelTree

# TEST_PAYLOAD holds components that exist only for the bed's own tests
# (not in the layer): its trivial test module. (The guest-side test
# helper, lmwtest, is a layer recipe, so that test images built with
# Yocto carry it too.)


@dataclass(frozen=True, slots=True)
class Component:
    name: str
    source: Path

    @property
    def is_kernel_module(self) -> bool:
        return (self.source / "Kbuild").is_file()


def discover(roots: tuple[Path, ...], *, layer_like: bool) -> list[Component]:
    """Every folder with a Makefile below ``roots`` (nested ones belong to their parent).

    ``layer_like``: roots are OE layers (look in recipes-*/); else each
    direct subfolder of a root is a component (tests/payload).
    """
    found: list[Component] = []
    for root in roots:
        pattern = "recipes-*/**/Makefile" if layer_like else "*/Makefile"
        makefiles = sorted(root.glob(pattern), key=lambda p: len(p.parts))
        for makefile in makefiles:
            folder = makefile.parent
            if any(folder.is_relative_to(c.source) for c in found):
                continue
            # a recipe keeps its sources in <recipe>/files/: name it after the recipe
            name = folder.parent.name if folder.name == "files" else folder.name
            found.append(Component(name=name, source=folder))
    return found


def components(*, with_test_modules: bool = True) -> list[Component]:
    """The layer's components, then (for the tests) those in tests/payload."""
    found = discover((LAYER,), layer_like=True) if LAYER.is_dir() else []
    if with_test_modules and TEST_PAYLOAD.is_dir():
        found += discover((TEST_PAYLOAD,), layer_like=False)
    return found


def stage(tree: KernelTree, stage_root: Path, parts: list[Component],
          options: dict[str, list[str]] | None = None) -> Path:
    """Install every component for ``tree`` into one DESTDIR; cached by sources.

    ``options``: component name -> more make options for its ``make install``
    (the Buildroot userland's: what Buildroot's packages pass)."""
    extra = options or {}
    key = fingerprint([Path(__file__), Path(kbuild.__file__), tree.release, tree.version,
                       *[p for c in parts for p in (c.name, c.source)],
                       *[f"{name}:{' '.join(opts)}" for name, opts in sorted(extra.items())]])

    def install_all(destdir: Path) -> None:
        destdir.mkdir(parents=True)
        work = stage_root / "work"
        for component in parts:
            if component.is_kernel_module:
                build_and_install(component.source, work / component.name, tree, destdir)
            else:
                # built out of the source tree, with the guest's compiler, as
                # bitbake builds in ${B} with ${CC}
                build_dir = work / component.name
                fresh_copy(component.source, build_dir)
                run(kbuild.make(tree, ["-C", build_dir, f"CC={kbuild.user_compiler(tree)}",
                                       *extra.get(component.name, []),
                                       f"DESTDIR={destdir}", "install"]))

    names = ", ".join(c.name for c in parts) or "nothing yet"
    return build_once(stage_root / "destdir", key, install_all,
                      f"staging payload for {tree.release} ({names})")
