"""Why a dataset could not be materialised: the job's FailureReason, precise and short."""

from __future__ import annotations


class DatasetError(Exception):
    """A dataset definition failed (bad SQL, unreachable database, missing data).

    ``reason`` is the whole FailureReason (``ClientError: ...`` for the request's fault,
    ``PlatformError: ...`` for the server's), never holding a secret.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
