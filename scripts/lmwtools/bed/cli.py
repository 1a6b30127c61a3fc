"""scripts/testbed: build guests, open a shell in one, run one command in a fresh one.

    scripts/testbed list                                  kernels, arches, userlands, matrix
    scripts/testbed build --kernel 6.12                   build (or reuse) a guest's images
    scripts/testbed shell --userland systemd              its console here (quit: Ctrl-A X)
    scripts/testbed exec --kernel 5.10 -- uname -r        a fresh guest, one command as root
    scripts/testbed exec --kernel 6.12 --arch armhf -- uname -m
    eval "$(scripts/testbed env --userland sysvinit)"     LG_* variables for pytest --lg-env

A guest is a Debian kernel series (--kernel, default 6.1; "newest" is
whatever trixie-backports serves today, "6.12-rt" Debian's PREEMPT_RT
flavour; or "debug", a kernel the bed builds from Debian's source with
the kernel's checkers on, for the initramfs userland), an arch (--arch,
default x86_64; arm64, armhf, riscv64) and a userland (--userland: initramfs, systemd,
sysvinit; default initramfs), as catalog.py lists them. Building one
resolves the series to Debian's current package, downloads and unpacks
it, builds the layer's components against its headers by their own
rules, and makes the images; every part is cached in build/bed/ (or
$LMW_CACHE) until its inputs change. Debian's package lists are re-read
at most daily (--refresh: now). Guests boot through the labgrid env
files in tests/env/, the same path pytest takes.

Bad input (an unknown kernel, arch or userland, a pair that is not
claimed, a missing host tool) is refused before anything is downloaded.
Exit status: 0 ok (``exec``: the guest command's own status), 1 internal
error, 2 user error, 130 interrupted.
"""

from __future__ import annotations

import argparse
import os
import shlex
from collections.abc import Callable, Sequence

from ..core import progress
from ..core.errors import EXIT_OK, UserError, run_command
from . import boot
from .catalog import ARCHES, BUILT_KERNELS, KERNELS, MATRIX, USERLANDS
from .guest import GuestSpec, build

Handler = Callable[[argparse.Namespace], int]


def _spec(args: argparse.Namespace) -> GuestSpec:
    spec = GuestSpec(kernel=args.kernel, arch=args.arch, userland=args.userland)
    spec.check()
    return spec


def cmd_list(args: argparse.Namespace) -> int:
    print("kernels (--kernel), resolved to Debian's current package at build time:")
    for series in KERNELS.values():
        print(f"  {series.name:7} {series.note}; arches: {', '.join(series.arches)}")
        if series.claims:
            print(f"  {'':7} claimed (last proven): "
                  + ", ".join(f"{version} on {arch}" for arch, version in series.claims))
    print("kernels the bed builds (--kernel), initramfs userland only:")
    for series in BUILT_KERNELS.values():
        print(f"  {series.name:7} {series.note}; arches: {', '.join(series.arches)}")
    print("userlands (--userland):")
    for name, userland in USERLANDS.items():
        print(f"  {name:9} {userland.summary}")
    print("matrix proven by make test: " + ", ".join(f"{k}/{a}" for k, a in MATRIX))
    return EXIT_OK


def cmd_build(args: argparse.Namespace) -> int:
    guest = build(_spec(args), refresh=args.refresh)
    print(f"kernel   {guest.tree.vmlinuz}  ({guest.release}, Debian {guest.tree.version})")
    print(f"initrd   {guest.initrd}")
    if guest.rootfs:
        print(f"rootfs   {guest.rootfs}")
    return EXIT_OK


def cmd_env(args: argparse.Namespace) -> int:
    guest = build(_spec(args), refresh=args.refresh)
    for name, value in guest.labgrid_vars().items():
        print(f"export {name}={shlex.quote(value)}")
    print(f"export LG_ENV={shlex.quote(str(boot.env_file(guest.spec.userland)))}")
    return EXIT_OK


def cmd_shell(args: argparse.Namespace) -> int:
    guest = build(_spec(args), refresh=args.refresh)
    argv = boot.qemu_argv(guest)
    progress.say(f"booting {guest.release} ({args.userland}); log in as root, "
                 "quit with Ctrl-A X")
    os.execvp(argv[0], argv)


def cmd_exec(args: argparse.Namespace) -> int:
    if not args.command:
        raise UserError("exec needs a command after --", hint="scripts/testbed exec -- uname -r")
    # One word is passed to the guest shell as written (pipes work);
    # several are quoted so each arrives as one argument.
    command = args.command[0] if len(args.command) == 1 else shlex.join(args.command)
    guest = build(_spec(args), refresh=args.refresh)
    progress.say(f"booting {guest.release} ({args.userland}) to run: {command}")
    lines, status = boot.run_in_fresh_guest(guest, command)
    for line in lines:
        print(line)
    return status


def _guest_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--kernel", default="6.1", metavar="SERIES",
                        help=f"Debian kernel series: {', '.join(KERNELS)}, or a kernel "
                             f"the bed builds: {', '.join(BUILT_KERNELS)} (default: 6.1)")
    parser.add_argument("--arch", default="x86_64", metavar="ARCH",
                        help=f"guest architecture: {', '.join(ARCHES)} (default: x86_64)")
    parser.add_argument("--userland", default="initramfs", metavar="NAME",
                        help=f"{', '.join(USERLANDS)} (default: initramfs)")
    parser.add_argument("--refresh", action="store_true",
                        help="re-read Debian's package lists now (else at most daily)")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress lines")


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="testbed",
        description="meta-lmw test bed: QEMU guests on Debian's own kernels.")
    sub = parser.add_subparsers(dest="verb", required=True, metavar="COMMAND")
    commands: list[tuple[str, Handler, str]] = [
        ("build", cmd_build, "build (or reuse) a guest's images and print their paths"),
        ("env", cmd_env, "build a guest and print the LG_* variables for pytest --lg-env"),
        ("shell", cmd_shell, "boot a guest with its console on this terminal"),
        ("exec", cmd_exec, "boot a fresh guest, run one command as root, exit with its status"),
    ]
    for name, handler, helptext in commands:
        verb = sub.add_parser(name, help=helptext, description=helptext)
        _guest_options(verb)
        if name == "exec":
            verb.add_argument("command", nargs=argparse.REMAINDER,
                              help="after --: the command (one word = a shell line)")
        verb.set_defaults(handler=handler)
    listing = sub.add_parser("list", help="kernels, arches and userlands the bed knows")
    listing.set_defaults(handler=cmd_list, quiet=False)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = make_parser().parse_args(argv)
    if getattr(args, "command", None) and args.command[0] == "--":
        args.command = args.command[1:]
    progress.set_quiet(args.quiet)
    return run_command("testbed", lambda: int(args.handler(args)))
