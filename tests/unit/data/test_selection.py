"""Which objects a channel selects for a host: prefix, manifest, shuffle and sharding."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from modelyard.data import list_channel_objects, validate_channel
from modelyard.data.selection import relative_path, shuffled
from modelyard.errors import ValidationError
from modelyard.store.local import LocalStore

URI_FIELD = "InputDataConfig.0.DataSource.S3DataSource.S3Uri"


def channel(uri: str, *, seed: int | None = None, **source: Any) -> dict[str, Any]:
    built: dict[str, Any] = {
        "ChannelName": "train",
        "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": uri, **source}},
    }
    if seed is not None:
        built["ShuffleConfig"] = {"Seed": seed}
    return built


@pytest.fixture
def store(tmp_path: Path) -> LocalStore:
    store = LocalStore(tmp_path / "store")
    store.create_bucket("bucket")
    for i in range(10):
        store.put_object("bucket", f"data/train/part-{i:02d}.csv", f"row {i}\n".encode())
    store.put_object("bucket", "data/train/sub/nested.csv", b"nested\n")
    store.put_object("bucket", "data/train2.csv", b"other\n")
    store.put_object("bucket", "data/test/part-0.csv", b"test\n")
    return store


def keys(refs: list[Any]) -> list[str]:
    return [ref.key for ref in refs]


def test_prefix_lists_every_object_in_key_order(store: LocalStore) -> None:
    refs = list_channel_objects(
        store, channel("s3://bucket/data/train/"), host_index=0, host_count=1
    )
    assert keys(refs) == sorted(keys(refs))
    assert len(refs) == 11
    by_key = {ref.key: ref for ref in refs}
    assert by_key["data/train/part-03.csv"].relative_path == "part-03.csv"
    assert by_key["data/train/part-03.csv"].size == len(b"row 3\n")
    assert by_key["data/train/sub/nested.csv"].relative_path == "sub/nested.csv"
    assert by_key["data/train/sub/nested.csv"].uri == "s3://bucket/data/train/sub/nested.csv"


def test_prefix_matches_as_s3_does(store: LocalStore) -> None:
    refs = list_channel_objects(
        store, channel("s3://bucket/data/train"), host_index=0, host_count=1
    )
    by_key = {ref.key: ref.relative_path for ref in refs}
    assert by_key["data/train/part-00.csv"] == "part-00.csv"
    assert by_key["data/train2.csv"] == "2.csv"  # the SDK's local-mode rule
    single = list_channel_objects(
        store, channel("s3://bucket/data/test/part-0.csv"), host_index=0, host_count=1
    )
    assert [(ref.key, ref.relative_path) for ref in single] == [
        ("data/test/part-0.csv", "part-0.csv")
    ]


def test_relative_path_rule() -> None:
    assert relative_path("p/a/b.csv", "p/") == "a/b.csv"
    assert relative_path("p/a/b.csv", "p") == "a/b.csv"
    assert relative_path("p/a.csv", "p/a.csv") == "a.csv"
    assert relative_path("p/a.csv", "") == "p/a.csv"


def test_manifest_lists_its_entries_in_order(store: LocalStore) -> None:
    manifest = [
        {"prefix": "s3://bucket/data/"},
        "train/part-05.csv",
        "test/part-0.csv",
        "train2.csv",
    ]
    store.put_object("bucket", "manifests/train.json", json.dumps(manifest).encode())
    refs = list_channel_objects(
        store,
        channel("s3://bucket/manifests/train.json", S3DataType="ManifestFile"),
        host_index=0,
        host_count=1,
    )
    assert keys(refs) == ["data/train/part-05.csv", "data/test/part-0.csv", "data/train2.csv"]
    assert [ref.relative_path for ref in refs] == [
        "train/part-05.csv",
        "test/part-0.csv",
        "train2.csv",
    ]
    assert refs[1].size == len(b"test\n")


@pytest.mark.parametrize(
    ("manifest", "words"),
    [
        (b"not json", "not JSON"),
        (json.dumps(["train/a"]).encode(), "first element"),
        (json.dumps([{"prefix": "s3://bucket/"}, "x"]).encode(), "non-empty prefix"),
        (json.dumps([{"prefix": "s3://bucket/data/"}, "nothere.csv"]).encode(), "does not exist"),
        (json.dumps([{"prefix": "s3://bucket/data/"}, "../escape"]).encode(), "'..' segment"),
        (json.dumps([{"prefix": "s3://bucket/data/"}, 7]).encode(), "not a key suffix"),
        (json.dumps([{"prefix": "s3://bucket/data/"}]).encode(), "has no data"),
    ],
)
def test_bad_manifests_are_refused_naming_the_uri(
    store: LocalStore, manifest: bytes, words: str
) -> None:
    store.put_object("bucket", "m.json", manifest)
    with pytest.raises(ValidationError) as caught:
        validate_channel(store, channel("s3://bucket/m.json", S3DataType="ManifestFile"), 0)
    assert caught.value.field == URI_FIELD
    assert words in caught.value.message


def test_missing_manifest_is_refused(store: LocalStore) -> None:
    with pytest.raises(ValidationError) as caught:
        validate_channel(store, channel("s3://bucket/none.json", S3DataType="ManifestFile"), 0)
    assert caught.value.field == URI_FIELD


def test_a_channel_with_no_objects_is_refused(store: LocalStore) -> None:
    with pytest.raises(ValidationError) as caught:
        validate_channel(store, channel("s3://bucket/data/nothing/"), 0)
    assert caught.value.field == URI_FIELD
    assert "has no data" in caught.value.message
    with pytest.raises(ValidationError) as caught:
        list_channel_objects(
            store, channel("s3://bucket/empty/"), host_index=0, host_count=2, index=4
        )
    assert caught.value.field == "InputDataConfig.4.DataSource.S3DataSource.S3Uri"


def test_a_missing_bucket_is_refused(store: LocalStore) -> None:
    with pytest.raises(ValidationError) as caught:
        validate_channel(store, channel("s3://nobucket/data/"), 0)
    assert caught.value.field == URI_FIELD


@pytest.mark.parametrize("host_count", [1, 2, 3, 4])
@pytest.mark.parametrize("seed", [None, 7])
def test_sharding_covers_every_object_exactly_once(
    store: LocalStore, host_count: int, seed: int | None
) -> None:
    sharded = channel("s3://bucket/data/train/", seed=seed, S3DataDistributionType="ShardedByS3Key")
    everything = keys(
        list_channel_objects(store, channel("s3://bucket/data/train/"), host_index=0, host_count=1)
    )
    for epoch in range(3):
        shares = [
            keys(
                list_channel_objects(
                    store, sharded, host_index=host, host_count=host_count, epoch=epoch
                )
            )
            for host in range(host_count)
        ]
        assert Counter(key for share in shares for key in share) == Counter(everything)
        sizes = [len(share) for share in shares]
        assert max(sizes) - min(sizes) <= 1


def test_unsharded_hosts_get_everything(store: LocalStore) -> None:
    for host in range(3):
        refs = list_channel_objects(
            store, channel("s3://bucket/data/train/"), host_index=host, host_count=3
        )
        assert len(refs) == 11


def test_sharding_deals_round_robin_over_sorted_keys(store: LocalStore) -> None:
    sharded = channel("s3://bucket/data/train/", S3DataDistributionType="ShardedByS3Key")
    everything = keys(
        list_channel_objects(store, channel("s3://bucket/data/train/"), host_index=0, host_count=1)
    )
    second = keys(list_channel_objects(store, sharded, host_index=1, host_count=3))
    assert second == everything[1::3]


def test_shuffle_is_deterministic_per_seed_and_epoch(store: LocalStore) -> None:
    def order(seed: int, epoch: int = 0) -> list[str]:
        shuffled_channel = channel("s3://bucket/data/train/", seed=seed)
        return keys(
            list_channel_objects(store, shuffled_channel, host_index=0, host_count=1, epoch=epoch)
        )

    assert order(7) == order(7)
    assert sorted(order(7)) == sorted(order(8))
    assert order(7) != order(8)
    assert order(7, epoch=0) != order(7, epoch=1)
    assert order(7, epoch=1) == order(7, epoch=1)
    # The documented recipe, so that another implementation can reproduce it.
    assert shuffled(list(range(20)), 7, 2) == shuffled(list(range(20)), 7, 2)
    assert order(7) == shuffled(sorted(order(7)), 7, 0)


def test_host_index_is_checked(store: LocalStore) -> None:
    with pytest.raises(ValidationError) as caught:
        list_channel_objects(store, channel("s3://bucket/data/"), host_index=2, host_count=2)
    assert caught.value.field == "host_index"
