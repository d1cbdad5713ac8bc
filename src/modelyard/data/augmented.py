"""AugmentedManifestFile channels (not implemented yet: refused with a 400)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from modelyard.data.channel import ChannelSpec
from modelyard.data.staged import StagedChannel
from modelyard.errors import ValidationError


def _refuse(spec: ChannelSpec) -> ValidationError:
    return ValidationError(
        f"channel {spec.name!r}: AugmentedManifestFile channels are not supported yet",
        field=spec.field("DataSource.S3DataSource.S3DataType"),
    )


def read_manifest_lines(store: Any, spec: ChannelSpec) -> list[Any]:
    raise _refuse(spec)


def stage_augmented(
    store: Any, spec: ChannelSpec, channel_dir: Path, host_index: int, host_count: int
) -> StagedChannel:
    raise _refuse(spec)
