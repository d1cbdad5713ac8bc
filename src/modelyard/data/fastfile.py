"""FastFile mode (not implemented yet: refused with a 400)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from modelyard.data.channel import ChannelSpec
from modelyard.data.staged import StagedChannel
from modelyard.errors import ValidationError


def stage_fast_file(store: Any, spec: ChannelSpec, *args: Any, **kwargs: Any) -> StagedChannel:
    del store, args, kwargs
    raise ValidationError(
        f"channel {spec.name!r}: FastFile input mode is not supported yet",
        field=spec.field("InputMode"),
    )


_ = Path
