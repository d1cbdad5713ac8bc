"""The shadow comparison report outlives the server: snapshotted beside its endpoint."""

from __future__ import annotations

from pathlib import Path

from modelyard.catalog import SqlCatalog
from modelyard.config import Settings
from modelyard.hosting.shadow import PERSISTED_SAMPLES, STATE_KEY, ShadowRecorder
from modelyard.ids import ResourceKind
from tests.unit.hosting.test_controller import FakeLauncher, Harness


def shadowed_harness(tmp_path: Path) -> Harness:
    catalog = SqlCatalog("sqlite://")
    catalog.migrate()
    for model in ("live", "candidate"):
        catalog.create(
            ResourceKind.MODEL,
            model,
            spec={"ModelName": model, "PrimaryContainer": {"Image": "sklearn:1.5"}},
            status="Created",
        )
    catalog.create(
        ResourceKind.ENDPOINT_CONFIG,
        "shadowed",
        spec={
            "EndpointConfigName": "shadowed",
            "ProductionVariants": [{"VariantName": "Live", "ModelName": "live"}],
            "ShadowProductionVariants": [{"VariantName": "Candidate", "ModelName": "candidate"}],
        },
        status="Created",
    )
    harness = Harness(catalog, Settings(home=tmp_path), FakeLauncher())
    harness.controller.create({"EndpointName": "ep", "EndpointConfigName": "shadowed"})
    harness.ticks()
    return harness


def mirror(recorder: ShadowRecorder, count: int) -> None:
    """``count`` mirrored requests as the router records them; every third disagrees."""
    for index in range(count):
        recorder.record(
            "ep",
            "Live",
            "Candidate",
            production_ok=True,
            production_latency_ms=1.0 + index / 7,
            shadow_ok=index != 5,
            shadow_latency_ms=2.0 + index / 3,
            agree=index % 3 != 0,
        )


def test_a_restarted_controller_reads_the_same_report(tmp_path: Path) -> None:
    harness = shadowed_harness(tmp_path)
    mirror(harness.controller.shadows, 40)
    harness.controller.shadows.dropped("ep", "Live", "Candidate")
    before = harness.controller.shadow_report("ep")
    assert before["SampledRequests"] == 41
    harness.controller.shutdown()  # what is not yet snapshotted is written now

    harness.controller = harness.start()
    harness.controller.reconcile()
    assert harness.controller.shadow_report("ep") == before
    mirror(harness.controller.shadows, 2)  # and it carries on counting
    assert harness.controller.shadow_report("ep")["SampledRequests"] == 43
    harness.catalog.close()


def test_the_report_is_snapshotted_while_the_server_runs(tmp_path: Path) -> None:
    harness = shadowed_harness(tmp_path)
    mirror(harness.controller.shadows, 10)
    harness.clock.now += 11  # the loop's next metrics flush
    harness.controller.tick()
    stored = harness.catalog.get(ResourceKind.ENDPOINT, "ep").state[STATE_KEY]
    assert stored["SampledRequests"] == 10
    assert len(stored["ShadowLatencyMs"]) == 10
    before = harness.controller.shadow_report("ep")

    harness.controller = harness.start()  # the server died: no shutdown
    harness.controller.reconcile()
    assert harness.controller.shadow_report("ep") == before
    harness.controller.delete("ep")
    harness.ticks()
    harness.controller.shadows.persist(harness.catalog)  # the endpoint is gone: nothing fails
    harness.catalog.close()


def test_only_the_newest_latencies_are_kept_in_the_catalog(tmp_path: Path) -> None:
    harness = shadowed_harness(tmp_path)
    mirror(harness.controller.shadows, PERSISTED_SAMPLES + 500)
    harness.controller.shadows.persist(harness.catalog)
    stored = harness.catalog.get(ResourceKind.ENDPOINT, "ep").state[STATE_KEY]
    assert stored["SampledRequests"] == PERSISTED_SAMPLES + 500
    assert len(stored["ProductionLatencyMs"]) == PERSISTED_SAMPLES
    assert stored["ProductionLatencyMs"][-1] == 1.0 + (PERSISTED_SAMPLES + 499) / 7
    harness.catalog.close()
