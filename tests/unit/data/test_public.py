"""The data package's public names are a decision: this test holds them."""

from __future__ import annotations

import modelyard.data


def test_public_names() -> None:
    assert sorted(modelyard.data.__all__) == [
        "ChannelSpec",
        "FeedInterruptedError",
        "ObjectRef",
        "StagedChannel",
        "list_channel_objects",
        "parse_channel",
        "resume_channel",
        "stage_channel",
        "validate_channel",
    ]
    for name in modelyard.data.__all__:
        assert getattr(modelyard.data, name) is not None
