"""The catalog writes of a job's lifecycle, in one place.

Every status a job reaches is written here, always *before* the side effect it
announces, and every write is a compare-and-swap the catalog arbitrates: a stop
recorded first is final (``Stopped`` wins over ``Completed`` / ``Failed``), and
``Stopped`` is reached through ``Stopping`` only, as the state machine wants.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Mapping
from typing import Any

from modelyard.catalog.base import Catalog, ResourceRecord
from modelyard.errors import ConcurrentUpdateError, ConflictError, IllegalTransitionError
from modelyard.ids import ResourceKind, utcnow
from modelyard.jobs.job import (
    ACTIVE_STATUSES,
    END_KEY,
    IN_PROGRESS,
    MAX_RUNTIME_KEY,
    STOPPED,
    STOPPING,
    Outcome,
    Phases,
)

log = logging.getLogger(__name__)

_FINISH_ATTEMPTS = 20


class JobRecord:
    """Writes the records of one job kind (see the module doc)."""

    def __init__(
        self,
        catalog: Catalog,
        kind: ResourceKind,
        phases: Phases,
        *,
        noun: str,
        status_messages: Mapping[str, str],
    ) -> None:
        self.catalog = catalog
        self.kind = kind
        self.phases = phases
        self.noun = noun
        self.status_messages = status_messages

    def get(self, name: str) -> ResourceRecord:
        return self.catalog.get(self.kind, name)

    def message(self, secondary: str | None, fallback: str | None = None) -> str | None:
        return self.status_messages.get(secondary or "", fallback)

    def advance(
        self,
        name: str,
        secondary: str | None,
        message: str | None = None,
        state_updates: dict[str, Any] | None = None,
    ) -> ResourceRecord:
        """The next step while InProgress; ``IllegalTransitionError`` once it is stopping."""
        return self.catalog.transition(
            self.kind,
            name,
            IN_PROGRESS,
            secondary_status=secondary,
            message=self.message(secondary, message),
            state_updates=state_updates,
        )

    def request_stop(self, name: str) -> ResourceRecord:
        """Stopping (idempotent); ``ConflictError`` if the job has already ended."""
        record = self.get(name)
        if record.status == STOPPING:
            return record
        try:
            return self.catalog.transition(
                self.kind,
                name,
                STOPPING,
                secondary_status=self.phases.stopping,
                message=self.message(self.phases.stopping, "Stop requested"),
            )
        except IllegalTransitionError as exc:
            raise ConflictError(
                f"{self.kind.value} {name!r} is {self.get(name).status}: only a job "
                "InProgress can be stopped",
                field="Status",
            ) from exc

    def exceed_max_runtime(self, name: str, max_runtime_s: float) -> None:
        """Stopping because of MaxRuntimeInSeconds (unless it stopped or ended meanwhile)."""
        with contextlib.suppress(IllegalTransitionError):
            self.catalog.transition(
                self.kind,
                name,
                STOPPING,
                secondary_status=self.phases.max_runtime,
                message=f"the {self.noun} exceeded MaxRuntimeInSeconds ({max_runtime_s:g} s)",
                state_updates={MAX_RUNTIME_KEY: True},
            )

    def collecting(self, name: str) -> ResourceRecord:
        """The collecting step, in whichever active status the job is; the record as it was."""
        record = self.get(name)
        if record.status in ACTIVE_STATUSES:
            with contextlib.suppress(IllegalTransitionError):
                self.catalog.transition(
                    self.kind,
                    name,
                    record.status,
                    secondary_status=self.phases.collecting,
                    message=self.message(self.phases.collecting, "Collecting the results"),
                )
        return record

    def stopped_outcome(
        self, name: str, *, max_runtime_exceeded: bool, max_runtime_s: float | None
    ) -> Outcome:
        if self.get(name).state.get(MAX_RUNTIME_KEY) or max_runtime_exceeded:
            return Outcome(
                STOPPED,
                self.phases.max_runtime,
                f"MaxRuntimeExceeded: the {self.noun} ran longer than MaxRuntimeInSeconds "
                f"({max_runtime_s or 0:g} s) and was stopped",
            )
        return Outcome(STOPPED, self.phases.stopped)

    def finish(
        self, name: str, outcome: Outcome, state: dict[str, Any], *, stopped: Outcome
    ) -> None:
        """Write the end; ``stopped`` is the outcome used if a stop was recorded meanwhile."""
        state = {**state, END_KEY: utcnow().isoformat()}
        for _attempt in range(_FINISH_ATTEMPTS):
            record = self.get(name)
            if record.status not in ACTIVE_STATUSES:
                return  # somebody else ended it
            chosen = stopped if record.status == STOPPING else outcome
            if record.status == IN_PROGRESS and chosen.status == STOPPED:
                with contextlib.suppress(ConcurrentUpdateError, IllegalTransitionError):
                    self.catalog.transition(
                        self.kind,
                        name,
                        STOPPING,
                        secondary_status=self.phases.stopping,
                        expected_version=record.version,
                    )
                continue
            try:
                self.catalog.transition(
                    self.kind,
                    name,
                    chosen.status,
                    secondary_status=chosen.secondary_status,
                    failure_reason=chosen.failure_reason,
                    message=chosen.message or self.message(chosen.secondary_status),
                    state_updates=state,
                    expected_version=record.version,
                )
                return
            except (ConcurrentUpdateError, IllegalTransitionError):
                continue
        log.error("could not record the end of %s %s", self.kind.value, name)
