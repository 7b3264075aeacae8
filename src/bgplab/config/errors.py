"""The one error type of configuration loading: file, line, column, message."""

from __future__ import annotations

from bgplab.errors import UserError


class ConfigError(UserError):
    """A configuration that cannot be loaded; ``str()`` is one line like
    BIRD's: ``bird.conf:12:5: syntax error, unexpected '}'``."""

    def __init__(self, file: str, line: int, col: int, msg: str) -> None:
        self.file = file
        self.line = line
        self.col = col
        self.msg = msg.replace("\n", " ")
        super().__init__(f"{file}:{line}:{col}: {self.msg}")
