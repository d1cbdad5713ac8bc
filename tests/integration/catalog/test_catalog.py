"""The catalog's behaviour, the same on SQLite and on a real PostgreSQL server.

Every test in the first part runs twice (``[sqlite]``, ``[postgres]``), each on
a database of its own: the catalog a user gets from ``open_catalog`` with the
settings pointing at it.
"""

from __future__ import annotations

import math
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine

from modelyard.catalog import SqlCatalog, open_catalog
from modelyard.catalog.migrate import current_revision, head_revision
from modelyard.catalog.models import Base
from modelyard.config import Settings, get_settings, reset_settings
from modelyard.errors import (
    AlreadyExistsError,
    CatalogError,
    ConcurrentUpdateError,
    IllegalTransitionError,
    InvalidNameError,
    NotFoundError,
    ValidationError,
)
from modelyard.ids import ResourceKind

TRAINING = ResourceKind.TRAINING_JOB
ENDPOINT = ResourceKind.ENDPOINT
SPEC = {
    "TrainingJobName": "job-1",
    "AlgorithmSpecification": {"TrainingImage": "sklearn:1.4", "TrainingInputMode": "File"},
    "HyperParameters": {"max_depth": "5"},
}


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def catalog_url(request: pytest.FixtureRequest, modelyard_home: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{modelyard_home / 'catalog.db'}"
    url: str = request.getfixturevalue("postgres_database_url")
    return url


@pytest.fixture
def catalog_settings(catalog_url: str, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("MODELYARD_CATALOG_URL", catalog_url)
    reset_settings()
    return get_settings()


@pytest.fixture
def catalog(catalog_settings: Settings) -> Iterator[SqlCatalog]:
    with open_catalog(catalog_settings) as opened:
        yield opened


def run_in_threads(count: int, work: Callable[[int], Any]) -> list[Any]:
    """Run ``work(i)`` in ``count`` threads released together; results or raised errors."""
    barrier = threading.Barrier(count)
    results: list[Any] = [None] * count

    def run(index: int) -> None:
        barrier.wait()
        try:
            results[index] = work(index)
        except Exception as exc:
            results[index] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


# Create, get, delete.


def test_create_then_get(catalog: SqlCatalog) -> None:
    created = catalog.create(TRAINING, "job-1", spec=SPEC, secondary_status="Starting")

    assert created.status == "InProgress"
    assert created.secondary_status == "Starting"
    assert created.arn == "arn:aws:sagemaker:local:000000000000:training-job/job-1"
    assert created.version == 1
    assert created.state == {}
    assert created.created_at.tzinfo is UTC
    assert created.created_at == created.updated_at
    assert catalog.get(TRAINING, "job-1") == created
    assert catalog.get(TRAINING, "job-1").spec == SPEC


def test_create_in_a_given_status_with_state(catalog: SqlCatalog) -> None:
    record = catalog.create(
        ResourceKind.MODEL_PACKAGE,
        "churn-1",
        spec={"ModelPackageGroupName": "churn"},
        status="Completed",
        state={"ModelApprovalStatus": "PendingManualApproval"},
    )
    assert record.status == "Completed"
    assert catalog.get(ResourceKind.MODEL_PACKAGE, "churn-1").state == {
        "ModelApprovalStatus": "PendingManualApproval"
    }
    with pytest.raises(ValidationError) as caught:
        catalog.create(TRAINING, "job-2", spec={}, status="Completed")
    assert caught.value.field == "Status"


def test_a_name_is_unique_per_kind(catalog: SqlCatalog) -> None:
    catalog.create(TRAINING, "churn", spec=SPEC)

    with pytest.raises(AlreadyExistsError) as caught:
        catalog.create(TRAINING, "churn", spec=SPEC)
    assert caught.value.http_status == 409
    assert caught.value.field == "Name"
    assert "training-job 'churn' already exists" in str(caught.value)

    catalog.create(ResourceKind.MODEL, "churn", spec={})  # another kind: no clash


def test_racing_creates_of_one_name_make_one_resource(catalog: SqlCatalog) -> None:
    results = run_in_threads(6, lambda i: catalog.create(TRAINING, "race", spec={"Thread": i}))

    created = [r for r in results if not isinstance(r, Exception)]
    refused = [r for r in results if isinstance(r, Exception)]
    assert len(created) == 1
    assert all(isinstance(error, AlreadyExistsError) for error in refused), refused
    assert catalog.get(TRAINING, "race").spec == created[0].spec


@pytest.mark.parametrize("name", ["-leading-hyphen", "has_underscore", "x" * 64, ""])
def test_a_bad_name_is_refused_naming_the_field(catalog: SqlCatalog, name: str) -> None:
    with pytest.raises(InvalidNameError) as caught:
        catalog.create(TRAINING, name, spec=SPEC)
    assert caught.value.http_status == 400
    assert caught.value.field == "Name"
    assert catalog.list(TRAINING).records == []


def test_spec_and_state_must_be_json_objects(catalog: SqlCatalog) -> None:
    with pytest.raises(ValidationError) as caught:
        catalog.create(TRAINING, "job-1", spec={"When": datetime.now(UTC)})
    assert caught.value.field == "spec"
    with pytest.raises(ValidationError):
        catalog.create(TRAINING, "job-1", spec={}, state={"Loss": math.nan})


def test_unknown_resources_are_not_found(catalog: SqlCatalog) -> None:
    with pytest.raises(NotFoundError, match="training-job 'nope' does not exist") as caught:
        catalog.get(TRAINING, "nope")
    assert caught.value.http_status == 404
    for call in (
        lambda: catalog.transition(TRAINING, "nope", "Completed"),
        lambda: catalog.update(TRAINING, "nope", state_updates={"a": 1}),
        lambda: catalog.delete(TRAINING, "nope"),
        lambda: catalog.events(TRAINING, "nope"),
        lambda: catalog.metric_points(TRAINING, "nope"),
        lambda: catalog.add_metric_points(TRAINING, "nope", []),
    ):
        with pytest.raises(NotFoundError):
            call()


def test_delete_takes_events_and_metrics_along(catalog: SqlCatalog) -> None:
    catalog.create(TRAINING, "job-1", spec=SPEC)
    catalog.transition(TRAINING, "job-1", "InProgress", secondary_status="Training")
    catalog.add_metric_points(TRAINING, "job-1", [("train:loss", datetime.now(UTC), 0.5)])

    catalog.delete(TRAINING, "job-1")

    with pytest.raises(NotFoundError):
        catalog.get(TRAINING, "job-1")
    again = catalog.create(TRAINING, "job-1", spec=SPEC)
    assert again.version == 1
    assert len(catalog.events(TRAINING, "job-1")) == 1
    assert catalog.metric_points(TRAINING, "job-1") == []


# Listing: SageMaker's List* filters, sorting and NextToken.


def test_list_filters(catalog: SqlCatalog) -> None:
    before = datetime.now(UTC)
    catalog.create(TRAINING, "churn-xgb", spec={})
    between = datetime.now(UTC)
    catalog.create(TRAINING, "Churn-Sklearn", spec={})
    catalog.create(TRAINING, "fraud-xgb", spec={})
    catalog.transition(TRAINING, "fraud-xgb", "Failed", failure_reason="OOM")
    catalog.create(ENDPOINT, "churn", spec={})  # another kind is never listed

    def names(**filters: Any) -> set[str]:
        return {record.name for record in catalog.list(TRAINING, **filters).records}

    assert names() == {"churn-xgb", "Churn-Sklearn", "fraud-xgb"}
    assert names(status="Failed") == {"fraud-xgb"}
    assert names(name_contains="CHURN") == {"churn-xgb", "Churn-Sklearn"}
    assert names(name_contains="xgb", status="InProgress") == {"churn-xgb"}
    assert names(creation_time_after=between) == {"Churn-Sklearn", "fraud-xgb"}
    assert names(creation_time_before=between) == {"churn-xgb"}
    assert names(creation_time_before=before) == set()
    with pytest.raises(ValidationError) as caught:
        catalog.list(TRAINING, status="Running")
    assert caught.value.field == "StatusEquals"


def test_list_sorting(catalog: SqlCatalog) -> None:
    for name in ["b-job", "A-job", "c-job", "a-job"]:
        catalog.create(TRAINING, name, spec={})
    catalog.transition(TRAINING, "c-job", "Completed")

    def order(**sort: Any) -> list[str]:
        return [record.name for record in catalog.list(TRAINING, **sort).records]

    assert order() == ["a-job", "c-job", "A-job", "b-job"]  # newest first by default
    assert order(sort_order="Ascending") == ["b-job", "A-job", "c-job", "a-job"]
    assert order(sort_by="Name", sort_order="Ascending") == ["A-job", "a-job", "b-job", "c-job"]
    assert order(sort_by="Name") == ["c-job", "b-job", "a-job", "A-job"]
    assert order(sort_by="Status", sort_order="Ascending")[0] == "c-job"  # Completed first
    for bad, field in [({"sort_by": "Size"}, "SortBy"), ({"sort_order": "Up"}, "SortOrder")]:
        with pytest.raises(ValidationError) as caught:
            catalog.list(TRAINING, **bad)
        assert caught.value.field == field


@pytest.mark.parametrize("sort_by", ["CreationTime", "Name", "Status"])
@pytest.mark.parametrize("sort_order", ["Ascending", "Descending"])
def test_pages_cover_everything_once_in_order(
    catalog: SqlCatalog, sort_by: Any, sort_order: Any
) -> None:
    for i in range(7):
        catalog.create(TRAINING, f"job-{i}", spec={})
    catalog.transition(TRAINING, "job-3", "Failed")
    whole = [r.name for r in catalog.list(TRAINING, sort_by=sort_by, sort_order=sort_order).records]

    seen: list[str] = []
    pages = 0
    token: str | None = None
    while True:
        page = catalog.list(
            TRAINING, sort_by=sort_by, sort_order=sort_order, max_results=3, next_token=token
        )
        pages += 1
        seen.extend(record.name for record in page.records)
        token = page.next_token
        if token is None:
            break

    assert pages == 3
    assert seen == whole
    assert len(set(seen)) == 7


def test_next_token_is_stable_while_resources_come_and_go(catalog: SqlCatalog) -> None:
    for i in range(6):
        catalog.create(TRAINING, f"job-{i}", spec={})
    first = catalog.list(TRAINING, max_results=3)  # job-5, job-4, job-3
    catalog.create(TRAINING, "job-new", spec={})  # newer than every listed one
    catalog.delete(TRAINING, "job-4")  # already listed

    rest = catalog.list(TRAINING, max_results=3, next_token=first.next_token)

    assert [r.name for r in first.records] == ["job-5", "job-4", "job-3"]
    assert [r.name for r in rest.records] == ["job-2", "job-1", "job-0"]
    assert rest.next_token is None


def test_bad_list_arguments_are_refused(catalog: SqlCatalog) -> None:
    for i in range(3):
        catalog.create(TRAINING, f"job-{i}", spec={})
    token = catalog.list(TRAINING, max_results=1).next_token
    assert token is not None

    for arguments, field in [
        ({"max_results": 0}, "MaxResults"),
        ({"max_results": 101}, "MaxResults"),
        ({"next_token": "not-a-token"}, "NextToken"),
        ({"next_token": token, "sort_by": "Name"}, "NextToken"),
    ]:
        with pytest.raises(ValidationError) as caught:
            catalog.list(TRAINING, **arguments)
        assert caught.value.field == field


# Transitions, events and updates.


def test_a_training_job_runs_to_completion(catalog: SqlCatalog) -> None:
    catalog.create(TRAINING, "job-1", spec=SPEC, secondary_status="Starting")
    for secondary in ["Downloading", "Training", "Uploading"]:
        catalog.transition(TRAINING, "job-1", "InProgress", secondary_status=secondary)
    done = catalog.transition(
        TRAINING,
        "job-1",
        "Completed",
        secondary_status="Completed",
        message="Training job completed",
        state_updates={"ModelArtifacts": {"S3ModelArtifacts": "s3://b/job-1/model.tar.gz"}},
    )

    assert (done.status, done.secondary_status, done.version) == ("Completed", "Completed", 5)
    assert done.state["ModelArtifacts"]["S3ModelArtifacts"].endswith("model.tar.gz")
    assert catalog.get(TRAINING, "job-1") == done
    events = catalog.events(TRAINING, "job-1")
    assert [(e.status, e.secondary_status) for e in events] == [
        ("InProgress", "Starting"),
        ("InProgress", "Downloading"),
        ("InProgress", "Training"),
        ("InProgress", "Uploading"),
        ("Completed", "Completed"),
    ]
    assert events[-1].message == "Training job completed"
    assert [e.at for e in events] == sorted(e.at for e in events)
    assert all(e.at.tzinfo is UTC for e in events)


def test_a_failure_keeps_its_reason(catalog: SqlCatalog) -> None:
    catalog.create(TRAINING, "job-1", spec=SPEC, secondary_status="Training")
    failed = catalog.transition(
        TRAINING, "job-1", "Failed", secondary_status="Failed", failure_reason="AlgorithmError: x"
    )
    assert failed.failure_reason == "AlgorithmError: x"
    assert catalog.get(TRAINING, "job-1").failure_reason == "AlgorithmError: x"


def test_an_illegal_transition_is_refused_and_changes_nothing(catalog: SqlCatalog) -> None:
    catalog.create(TRAINING, "job-1", spec=SPEC)
    completed = catalog.transition(TRAINING, "job-1", "Completed", state_updates={"a": 1})

    with pytest.raises(IllegalTransitionError) as caught:
        catalog.transition(TRAINING, "job-1", "InProgress", state_updates={"a": 2})

    assert caught.value.http_status == 409
    assert "from Completed to InProgress" in str(caught.value)
    assert catalog.get(TRAINING, "job-1") == completed
    assert len(catalog.events(TRAINING, "job-1")) == 2


def test_an_endpoint_updates_and_rolls_back(catalog: SqlCatalog) -> None:
    catalog.create(ENDPOINT, "churn", spec={"EndpointConfigName": "v1"})
    for status in ["InService", "Updating", "RollingBack", "InService", "Deleting"]:
        catalog.transition(ENDPOINT, "churn", status)
    assert [e.status for e in catalog.events(ENDPOINT, "churn")] == [
        "Creating",
        "InService",
        "Updating",
        "RollingBack",
        "InService",
        "Deleting",
    ]
    with pytest.raises(IllegalTransitionError, match="Deleting is terminal"):
        catalog.transition(ENDPOINT, "churn", "InService")


def test_state_updates_merge_top_level_keys(catalog: SqlCatalog) -> None:
    catalog.create(TRAINING, "job-1", spec=SPEC, state={"pid": 1, "metrics": {"a": 1}})
    catalog.transition(TRAINING, "job-1", "InProgress", state_updates={"metrics": {"b": 2}})
    updated = catalog.update(TRAINING, "job-1", state_updates={"host": "algo-1"})

    assert updated.state == {"pid": 1, "metrics": {"b": 2}, "host": "algo-1"}
    assert updated.status == "InProgress"
    assert len(catalog.events(TRAINING, "job-1")) == 1  # neither call changed a status


def test_update_replaces_the_spec(catalog: SqlCatalog) -> None:
    catalog.create(ENDPOINT, "churn", spec={"EndpointConfigName": "v1"})
    updated = catalog.update(ENDPOINT, "churn", spec={"EndpointConfigName": "v2"})
    assert updated.spec == {"EndpointConfigName": "v2"}
    assert updated.version == 2
    assert catalog.get(ENDPOINT, "churn") == updated


def test_a_stale_expected_version_is_refused(catalog: SqlCatalog) -> None:
    read = catalog.create(TRAINING, "job-1", spec=SPEC)
    catalog.update(TRAINING, "job-1", state_updates={"by": "someone else"})

    with pytest.raises(ConcurrentUpdateError) as caught:
        catalog.update(TRAINING, "job-1", state_updates={"by": "me"}, expected_version=read.version)
    assert caught.value.http_status == 409
    with pytest.raises(ConcurrentUpdateError):
        catalog.transition(TRAINING, "job-1", "Stopping", expected_version=read.version)

    current = catalog.get(TRAINING, "job-1")
    assert current.state == {"by": "someone else"}
    assert current.status == "InProgress"
    fresh = catalog.transition(TRAINING, "job-1", "Stopping", expected_version=current.version)
    assert fresh.version == current.version + 1


def test_concurrent_updates_lose_no_write(catalog: SqlCatalog) -> None:
    catalog.create(TRAINING, "job-1", spec=SPEC)
    threads, writes = 8, 5

    def work(index: int) -> None:
        for count in range(1, writes + 1):
            catalog.update(TRAINING, "job-1", state_updates={f"thread-{index}": count})

    assert run_in_threads(threads, work) == [None] * threads
    final = catalog.get(TRAINING, "job-1")
    assert final.state == {f"thread-{i}": writes for i in range(threads)}
    assert final.version == 1 + threads * writes


def test_racing_transitions_have_exactly_one_winner(catalog: SqlCatalog) -> None:
    targets = ["Completed", "Stopping"]
    for round_ in range(5):
        name = f"job-{round_}"
        catalog.create(TRAINING, name, spec=SPEC)

        results = run_in_threads(2, lambda i: catalog.transition(TRAINING, name, targets[i]))  # noqa: B023

        winners = [r for r in results if not isinstance(r, Exception)]
        losers = [r for r in results if isinstance(r, Exception)]
        assert len(winners) == 1, results
        assert len(losers) == 1, results
        assert isinstance(losers[0], IllegalTransitionError), results
        assert catalog.get(TRAINING, name).status == winners[0].status
        assert len(catalog.events(TRAINING, name)) == 2


# Metrics.


def test_metric_points_are_kept_by_name_and_time(catalog: SqlCatalog) -> None:
    catalog.create(TRAINING, "job-1", spec=SPEC)
    t0 = datetime(2025, 1, 1, 12, 0, tzinfo=UTC)
    catalog.add_metric_points(
        TRAINING,
        "job-1",
        [("train:loss", t0 + timedelta(seconds=2), 0.5), ("validation:auc", t0, 0.7)],
    )
    catalog.add_metric_points(TRAINING, "job-1", [("train:loss", t0, 0.9)])

    points = catalog.metric_points(TRAINING, "job-1")
    assert [(p.name, p.timestamp, p.value) for p in points] == [
        ("train:loss", t0, 0.9),
        ("train:loss", t0 + timedelta(seconds=2), 0.5),
        ("validation:auc", t0, 0.7),
    ]
    assert [p.value for p in catalog.metric_points(TRAINING, "job-1", "validation:auc")] == [0.7]
    with pytest.raises(ValidationError) as caught:
        catalog.add_metric_points(TRAINING, "job-1", [("train:loss", t0, math.inf)])
    assert caught.value.field == "Value"
    assert len(catalog.metric_points(TRAINING, "job-1")) == 3


def test_times_come_back_as_utc_whatever_zone_went_in(catalog: SqlCatalog) -> None:
    catalog.create(TRAINING, "job-1", spec=SPEC)
    at = datetime(2025, 6, 1, 14, 30, 0, 123456, tzinfo=timezone(timedelta(hours=1)))
    catalog.add_metric_points(TRAINING, "job-1", [("loss", at, 1.0)])
    (point,) = catalog.metric_points(TRAINING, "job-1")
    assert point.timestamp == at
    assert point.timestamp.tzinfo is UTC
    assert point.timestamp.hour == 13


# Durability: a process killed right after its write returns has still written it.

WRITER = """
import sys
from modelyard.catalog import SqlCatalog
from modelyard.ids import ResourceKind

catalog = SqlCatalog(sys.argv[1])
for i in range(10_000):
    name = f"job-{i}"
    catalog.create(ResourceKind.TRAINING_JOB, name, spec={"I": i})
    catalog.transition(ResourceKind.TRAINING_JOB, name, "Completed", state_updates={"Done": i})
    print(name, flush=True)
"""


def test_a_write_survives_sigkill_right_after_it_returns(
    catalog: SqlCatalog, catalog_url: str
) -> None:
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, catalog_url],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert writer.stdout is not None
    assert writer.stderr is not None
    acknowledged: list[str] = []
    try:
        while len(acknowledged) < 25:
            line = writer.stdout.readline()
            if not line:
                pytest.fail(f"the writer died first: {writer.wait()} {writer.stderr.read()}")
            acknowledged.append(line.strip())
    finally:
        os.kill(writer.pid, signal.SIGKILL)
        writer.wait()
        writer.stdout.close()
        writer.stderr.close()
    assert writer.returncode == -signal.SIGKILL

    with SqlCatalog(catalog_url) as reopened:
        for i, name in enumerate(acknowledged):
            record = reopened.get(TRAINING, name)
            assert (record.status, record.state) == ("Completed", {"Done": i})
        reopened.create(TRAINING, "after-the-kill", spec={})  # and it still takes writes


# Migrations.


def test_a_fresh_database_is_migrated_to_head(catalog: SqlCatalog, catalog_url: str) -> None:
    engine = create_engine(catalog_url)
    try:
        assert current_revision(engine) == head_revision() == "0001"
    finally:
        engine.dispose()


def test_opening_twice_is_harmless(catalog: SqlCatalog, catalog_settings: Settings) -> None:
    catalog.create(TRAINING, "job-1", spec=SPEC)
    with open_catalog(catalog_settings) as again:
        assert again.get(TRAINING, "job-1").spec == SPEC


def test_the_models_match_the_migrations(catalog: SqlCatalog, catalog_url: str) -> None:
    engine = create_engine(catalog_url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            assert compare_metadata(context, Base.metadata) == []
    finally:
        engine.dispose()


OPENER = """
import sys
from modelyard.catalog import open_catalog
from modelyard.config import get_settings

print("ready", flush=True)
sys.stdin.readline()
with open_catalog(get_settings()) as catalog:
    catalog.list("training-job")
print("opened", flush=True)
"""


def test_processes_migrating_at_once_all_succeed(
    catalog_settings: Settings, catalog_url: str
) -> None:
    env = {**os.environ, "MODELYARD_CATALOG_URL": catalog_url}
    openers = [
        subprocess.Popen(
            [sys.executable, "-c", OPENER],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for _ in range(3)
    ]
    for opener in openers:  # every one imported and waiting: then all go at once
        assert opener.stdout is not None
        assert opener.stdout.readline() == "ready\n"
    for opener in openers:
        assert opener.stdin is not None
        opener.stdin.write("go\n")
        opener.stdin.flush()
    outcomes = [opener.communicate(timeout=120) for opener in openers]

    for opener, (out, err) in zip(openers, outcomes, strict=True):
        assert opener.returncode == 0, err
        assert out == "opened\n"
    with open_catalog(catalog_settings) as catalog:
        assert catalog.list(TRAINING).records == []


# Errors of the database are the catalog's, never SQLAlchemy's.


def test_a_closed_catalog_says_so(catalog: SqlCatalog) -> None:
    catalog.close()
    with pytest.raises(CatalogError, match="closed"):
        catalog.get(TRAINING, "job-1")


def test_a_database_without_the_schema_is_a_catalog_error(catalog_url: str) -> None:
    with SqlCatalog(catalog_url) as unmigrated, pytest.raises(CatalogError) as caught:
        unmigrated.get(TRAINING, "job-1")
    assert caught.value.http_status == 500
    assert caught.value.__cause__ is not None
