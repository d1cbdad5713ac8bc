"""The shadow report's math: agreement, side-by-side latency percentiles, errors, drops."""

from __future__ import annotations

import pytest

from modelyard.hosting.shadow import ShadowRecorder, percentile, responses_agree


@pytest.mark.parametrize(
    ("production", "shadow", "content_type", "agree"),
    [
        (b"[0,2,1]", b"[0,2,1]", "application/json", True),
        (b"[0.5, 1]", b"[0.5000000001,1.0]", "application/json", True),
        (b'{"p": [0.1]}', b'{"p": [0.2]}', "application/json", False),
        (b"0.1\n2\n", b"0.10000000001\n2.0", "text/csv", True),
        (b"1,a\n", b"1,b\n", "text/csv", False),
        (b"\x93NUMPY", b"\x93NUMPX", "application/x-npy", False),
        (b"same", b"same", "application/octet-stream", True),
        (b"[1", b"[1", "application/json", True),
        (b"[1", b"[2", "application/json", False),
    ],
)
def test_answers_agree_on_content_not_formatting(
    production: bytes, shadow: bytes, content_type: str, agree: bool
) -> None:
    assert responses_agree(production, shadow, content_type) is agree


def test_percentiles_by_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == 50.0
    assert percentile(values, 99) == 99.0
    assert percentile([3.0], 99) == 3.0
    assert percentile([], 50) is None


def test_the_report_puts_production_and_shadow_side_by_side() -> None:
    recorder = ShadowRecorder()
    assert recorder.report("ep") is None
    for index in range(100):
        recorder.record(
            "ep",
            "Prod",
            "Shadow",
            production_ok=True,
            production_latency_ms=1.0 + index / 100,
            shadow_ok=index % 10 != 0,  # every tenth shadow call fails
            shadow_latency_ms=2.0 + index / 100,
            agree=index % 5 != 1,
        )
    recorder.dropped("ep", "Prod", "Shadow")
    report = recorder.report("ep")
    assert report is not None
    assert report["SampledRequests"] == 101
    assert report["Dropped"] == 1
    assert report["Compared"] == 90
    assert report["Agreements"] == 70  # 20 disagreements, none where the shadow failed
    assert report["AgreementRate"] == pytest.approx(70 / 90)
    assert report["Production"] == {"Errors": 0, "LatencyP50Ms": 1.49, "LatencyP99Ms": 1.98}
    assert report["Shadow"]["Errors"] == 10
    assert report["Shadow"]["LatencyP50Ms"] == pytest.approx(2.49)


def test_a_new_shadow_pair_starts_a_new_report() -> None:
    recorder = ShadowRecorder()
    recorder.dropped("ep", "Prod", "Old")
    recorder.dropped("ep", "Prod", "New")
    report = recorder.report("ep")
    assert report is not None
    assert (report["ShadowVariant"], report["SampledRequests"]) == ("New", 1)
    recorder.forget("ep")
    assert recorder.report("ep") is None
