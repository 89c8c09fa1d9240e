"""The one exception hierarchy of infra-overlap.

Every error a user can cause is an ``InputError`` (or a subclass) whose message names the file,
the row or field, the problem and what to do. The CLI turns these into exit code 1 without a
traceback; anything else is an internal error (exit code 2, traceback with ``-v``).
"""

from __future__ import annotations


class InfraOverlapError(Exception):
    """Base class of every error raised on purpose by infra-overlap."""


class InputError(InfraOverlapError):
    """A user's input (file, option, configuration) cannot be used.

    Parameters
    ----------
    message
        What is wrong and what to do about it.
    source
        The file or option concerned, if any.
    row
        1-based data row (header excluded) or feature position, if any.
    field
        Column or option name, if any.
    """

    def __init__(
        self,
        message: str,
        *,
        source: str | None = None,
        row: int | None = None,
        field: str | None = None,
    ) -> None:
        self.source = source
        self.row = row
        self.field = field
        where = []
        if source:
            where.append(str(source))
        if row is not None:
            where.append(f"row {row}")
        if field:
            where.append(f"field '{field}'")
        prefix = ", ".join(where)
        super().__init__(f"{prefix}: {message}" if prefix else message)


class ConfigError(InputError):
    """The region configuration or a scenario file is invalid."""


class DataNotFoundError(InputError):
    """A data folder or a layer the run needs is missing."""


class NetworkError(InfraOverlapError):
    """The road network cannot be built or routed (e.g. no edges after filtering)."""


class ServerError(InputError):
    """A server the tool talks to (Overpass, a download host, a Dask scheduler) is unreachable,
    silent, or not the kind of server expected; the message names the host and what to check."""
