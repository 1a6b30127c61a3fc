# SPDX-License-Identifier: MIT
# Copyright (c) 2026 The meta-lmw authors
"""The one user-facing error: a bad config or argument. main() maps it to exit 2."""

from __future__ import annotations


class UserError(Exception):
    """Something the user can fix; the message says what and where."""


class ConfigError(UserError):
    """A bad value in the config file: names the file, the key, the value and why."""

    def __init__(self, path: str, key: str, value: object, why: str) -> None:
        super().__init__(f"{path}: {key} = {value!r}: {why}")
        self.path, self.key, self.value, self.why = path, key, value, why
