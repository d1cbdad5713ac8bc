"""The replica set's rules on a fake clock: launch, readiness, healing, startup, scaling."""

from __future__ import annotations

from modelyard.hosting.replica_set import Health, HealthPolicy, Phase, Probe, ReplicaSet

POLICY = HealthPolicy(
    period_s=1.0,
    unhealthy_threshold=3,
    startup_timeout_s=10.0,
    startup_probe_interval_s=0.2,
    max_startup_failures=3,
)
READY = Probe(Health.READY)


class FakeFleet:
    """Plays the controller: launches what the plan asks, with ids r1, r2, ..."""

    def __init__(self, desired: int) -> None:
        self.set = ReplicaSet("AllTraffic", desired, POLICY)
        self.now = 0.0
        self.launched: list[str] = []
        self.stopped: list[tuple[str, str]] = []

    def step(self, seconds: float = 0.0) -> None:
        self.now += seconds
        plan = self.set.plan(self.now)
        for _ in range(plan.launch):
            replica_id = f"r{len(self.launched) + 1}"
            self.launched.append(replica_id)
            self.set.added(replica_id, self.now)
        for replica_id, reason in plan.stop:
            self.stopped.append((replica_id, reason))
            self.set.stopped(replica_id)

    def probe_all(self, probe: Probe) -> None:
        for replica_id in self.set.due_probes(self.now):
            self.set.observe(replica_id, probe, self.now)


def test_replicas_are_launched_to_the_desired_count_and_serve_once_ready() -> None:
    fleet = FakeFleet(desired=2)
    fleet.step()
    assert fleet.launched == ["r1", "r2"]
    assert fleet.set.routable() == []
    assert not fleet.set.is_up
    fleet.probe_all(Probe(Health.STARTING, "not listening yet"))
    fleet.step(1.0)
    assert fleet.launched == ["r1", "r2"]  # starting ones count: nothing more launched
    fleet.set.observe("r1", READY, fleet.now)
    assert fleet.set.routable() == ["r1"]
    fleet.set.observe("r2", READY, fleet.now)
    assert fleet.set.is_up


def test_a_dead_replica_is_replaced_while_the_other_serves() -> None:
    fleet = FakeFleet(desired=2)
    fleet.step()
    fleet.probe_all(READY)
    fleet.set.observe("r1", Probe(Health.EXITED, "exit code -9"), fleet.now)
    assert fleet.set.routable() == ["r2"]
    fleet.step()
    assert fleet.stopped == [("r1", "it exited: exit code -9")]
    assert fleet.launched == ["r1", "r2", "r3"]
    fleet.probe_all(READY)
    assert fleet.set.routable() == ["r2", "r3"]


def test_a_hung_replica_is_replaced_after_the_threshold_of_failed_pings() -> None:
    fleet = FakeFleet(desired=1)
    fleet.step()
    fleet.probe_all(READY)
    hung = Probe(Health.UNRESPONSIVE, "no answer to /ping within 2 s")
    for _ in range(2):
        fleet.step(1.0)
        fleet.probe_all(hung)
    assert fleet.set.routable() == ["r1"]  # two failures: not yet
    fleet.step(0.5)
    assert fleet.set.due_probes(fleet.now) == []  # the period has not passed
    fleet.step(0.5)
    fleet.probe_all(hung)
    assert fleet.set.routable() == []
    fleet.step()
    assert fleet.stopped[0][0] == "r1"
    assert "3 times in a row" in fleet.stopped[0][1]
    assert fleet.launched == ["r1", "r2"]


def test_a_good_ping_resets_the_failure_count() -> None:
    fleet = FakeFleet(desired=1)
    fleet.step()
    fleet.probe_all(READY)
    for probe in [Probe(Health.UNRESPONSIVE), Probe(Health.UNRESPONSIVE), READY] * 3:
        fleet.step(1.0)
        fleet.probe_all(probe)
    assert fleet.set.routable() == ["r1"]


def test_a_suspect_replica_is_probed_at_once() -> None:
    fleet = FakeFleet(desired=1)
    fleet.step()
    fleet.probe_all(READY)
    fleet.step(0.1)
    assert fleet.set.due_probes(fleet.now) == []
    fleet.set.suspect("r1")
    assert fleet.set.due_probes(fleet.now) == ["r1"]


def test_replicas_that_never_start_fail_the_variant_after_three_in_a_row() -> None:
    fleet = FakeFleet(desired=1)
    fleet.step()
    fleet.set.observe("r1", Probe(Health.EXITED, "exit code 70"), fleet.now)
    fleet.step()
    fleet.step(11.0)  # r2 never answers /ping
    assert fleet.set.failure_reason is None
    fleet.step()
    fleet.set.observe("r3", Probe(Health.EXITED, "exit code 1"), fleet.now)
    fleet.step()
    assert fleet.launched == ["r1", "r2", "r3"]
    assert fleet.set.failure_reason is not None
    assert "3 replicas in a row did not start" in fleet.set.failure_reason
    assert "exit code 1" in fleet.set.failure_reason
    assert any("within 10 s" in reason for _, reason in fleet.stopped)


def test_a_model_that_fails_to_load_serves_its_error() -> None:
    fleet = FakeFleet(desired=1)
    fleet.step()
    fleet.probe_all(Probe(Health.MODEL_FAILED, "model_fn: corrupt"))
    assert fleet.set.routable() == ["r1"]
    assert fleet.set.is_up
    assert fleet.set.model_error == "model_fn: corrupt"


def test_scaling_in_retires_starting_replicas_first_then_the_newest() -> None:
    fleet = FakeFleet(desired=3)
    fleet.step()
    fleet.set.observe("r1", READY, fleet.now)
    fleet.set.observe("r2", READY, fleet.now)
    fleet.set.desired = 1
    fleet.step(1.0)
    assert sorted(r for r, _ in fleet.stopped) == ["r2", "r3"]
    assert {reason for _, reason in fleet.stopped} == {"scaled in"}
    assert fleet.set.routable() == ["r1"]
    fleet.set.desired = 2
    fleet.step()
    assert fleet.launched[-1] == "r4"


def test_stopping_replicas_ignore_probes_and_are_stopped_once() -> None:
    fleet = FakeFleet(desired=1)
    fleet.step()
    fleet.set.observe("r1", Probe(Health.EXITED), fleet.now)
    plan = fleet.set.plan(fleet.now)
    assert [r for r, _ in plan.stop] == ["r1"]
    fleet.set.observe("r1", READY, fleet.now)
    assert fleet.set.replicas["r1"].phase is Phase.STOPPING
    assert fleet.set.plan(fleet.now).stop == []
