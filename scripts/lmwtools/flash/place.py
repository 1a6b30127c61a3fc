"""scripts/flash --place: write an image to a board of a labgrid farm, then boot it.

The place is locked for the whole job (lab.places). The board's env file
(tests/env/<board>-remote.yaml) says how its medium is reached, and
LmwStrategy.flash does the writing: USB-SD-Mux or U-Boot UMS, with
labgrid's USBStorageDriver, which copies the image to the exporter and
runs bmaptool there, using ``<image>.bmap`` when it lies beside the image
(the same search as a local write). The bytes cannot be read back from
here, so the check is the one that matters for a board: it boots the
written image and logs in on its console.
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

from ..core.errors import UserError
from ..lab.places import Place, locked


def flash_place(image: Path, place: Place, env_file: Path, verify: bool) -> None:
    from labgrid import Environment
    from labgrid.strategy import StrategyError

    if not env_file.is_file():
        raise UserError(f"no labgrid environment file {env_file}",
                        hint="--env tests/env/<board>-remote.yaml (RemotePlace $LG_PLACE)")
    # labgrid reports each step and bmaptool's output through logging
    logging.basicConfig(level=logging.INFO, format="flash: %(name)s: %(message)s")
    with locked(place):
        os.environ.update(LG_PLACE=place.name, LG_COORDINATOR=place.coordinator)
        env = Environment(config_file=str(env_file))
        try:
            target = env.get_target("main")
            strategy = target.get_driver("Strategy", activate=False)
            started = time.monotonic()
            try:
                strategy.flash(str(image))
            except StrategyError as error:
                # a failed step leaves the strategy "broken": the cause says why
                raise UserError(f"cannot flash place {place.name} with {env_file}: "
                                f"{error.__cause__ or error}",
                                hint="the env file must have a USBStorageDriver and a "
                                    "USBSDMuxDriver, USBSDWireDriver or UBootDriver") from None
            result = "skipped (--no-verify)"
            if verify:
                strategy.transition("shell")
                shell = target.get_driver("ShellDriver")
                release = shell.run_check("uname -r")[0]
                result = f"booted it and logged in: kernel {release}"
                strategy.transition("off")
        finally:
            env.cleanup()
    print(f"flash: done\n"
          f"  image     {image}\n"
          f"  place     {place.name} on {place.coordinator}\n"
          f"  written   with bmaptool on the exporter in {time.monotonic() - started:.1f} s\n"
          f"  verify    {result}", flush=True)
