"""What only the local store does: a browsable directory, sidecars, filesystem limits."""

from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from modelyard.errors import ConflictError, InvalidKeyError, ValidationError
from modelyard.store.local import LocalStore


@pytest.fixture
def store(tmp_path: Path) -> LocalStore:
    local = LocalStore(tmp_path / "store")
    local.create_bucket("data")
    return local


def test_objects_are_plain_files_and_metadata_lives_aside(store: LocalStore) -> None:
    store.put_object("data", "train/part-0.csv", b"a,b\n", content_type="text/csv")

    assert (store.root / "data" / "train" / "part-0.csv").read_bytes() == b"a,b\n"
    sidecar = json.loads(
        (store.root / ".meta" / "objects" / "data" / "train" / "part-0.csv").read_text()
    )
    assert sidecar["content_type"] == "text/csv"
    assert [b.name for b in store.list_buckets()] == ["data"]
    assert [o.key for o in store.iter_objects("data")] == ["train/part-0.csv"]


def test_a_file_written_straight_into_the_bucket_is_an_object(store: LocalStore) -> None:
    (store.root / "data" / "job-output").mkdir()
    content = b'{"ok": true}'
    (store.root / "data" / "job-output" / "result.json").write_bytes(content)

    head = store.head_object("data", "job-output/result.json")
    assert head.sha256 == hashlib.sha256(content).hexdigest()
    assert head.etag == f'"{hashlib.md5(content).hexdigest()}"'
    assert head.content_type == "application/json"
    assert [o.key for o in store.iter_objects("data")] == ["job-output/result.json"]


def test_a_sidecar_describing_another_version_is_not_believed(store: LocalStore) -> None:
    store.put_object("data", "k", b"first", metadata={"v": "1"})
    path = store.root / "data" / "k"
    path.write_bytes(b"changed by hand")  # same name, other bytes: the sidecar is stale

    head = store.head_object("data", "k")
    assert head.sha256 == hashlib.sha256(b"changed by hand").hexdigest()
    assert head.size == len(b"changed by hand")


@pytest.mark.parametrize(("first", "second"), [("a", "a/b"), ("a/b", "a"), ("x/y", "x/y/z")])
def test_a_key_colliding_with_a_prefix_is_a_clear_conflict(
    store: LocalStore, first: str, second: str
) -> None:
    store.put_object("data", first, b"kept")

    with pytest.raises(ConflictError, match="cannot hold both") as caught:
        store.put_object("data", second, b"refused")
    assert caught.value.field == "Key"
    assert store.get_object("data", first) == b"kept"
    assert [o.key for o in store.iter_objects("data")] == [first]


def test_deleting_frees_the_name_for_a_prefix(store: LocalStore) -> None:
    store.put_object("data", "a/b/c", b"x")
    store.delete_object("data", "a/b/c")

    store.put_object("data", "a", b"now a file")
    assert store.get_object("data", "a") == b"now a file"


def test_symbolic_links_cannot_lead_out_of_a_bucket(store: LocalStore, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret").write_bytes(b"secret")
    os.symlink(outside, store.root / "data" / "link")

    with pytest.raises(InvalidKeyError, match="outside its bucket"):
        store.get_object("data", "link/secret")
    with pytest.raises(InvalidKeyError):
        store.put_object("data", "link/planted", b"x")
    assert not (outside / "planted").exists()
    assert list(store.iter_objects("data")) == []


def test_keys_with_overlong_segments_are_refused_with_the_limit(store: LocalStore) -> None:
    with pytest.raises(InvalidKeyError, match="255 bytes"):
        store.put_object("data", "x" * 300, b"x")


def test_an_interrupted_upload_leaves_only_a_temp_file_which_is_cleaned_later(
    tmp_path: Path,
) -> None:
    store = LocalStore(tmp_path / "store")
    leftover = store.root / ".tmp" / "dead.part"
    leftover.write_bytes(b"half")
    day_ago = time.time() - 2 * 24 * 3600
    os.utime(leftover, (day_ago, day_ago))

    LocalStore(tmp_path / "store")
    assert not leftover.exists()


def test_bad_continuation_token_names_the_field(store: LocalStore) -> None:
    with pytest.raises(ValidationError) as caught:
        store.list_objects("data", continuation_token="not-a-token!")
    assert caught.value.field == "ContinuationToken"


# Property: paging through any listing gives exactly what S3 would.

names = st.sampled_from(["a", "b", "a-b", "a.b", "a0", "é", "z", "ab"])
key_sets = st.sets(st.lists(names, min_size=1, max_size=3).map("/".join), min_size=1, max_size=25)


def s3_model(keys: set[str], prefix: str, delimiter: str | None) -> list[str]:
    """What S3's ListObjectsV2 returns, keys and common prefixes in one ordered list."""
    out: list[str] = []
    for key in sorted(keys, key=lambda k: k.encode()):
        if not key.startswith(prefix):
            continue
        cut = key.find(delimiter, len(prefix)) if delimiter else -1
        entry = key if cut < 0 else key[: cut + len(delimiter or "")]
        if entry not in out:
            out.append(entry)
    return out


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    keys=key_sets,
    prefix=st.sampled_from(["", "a", "a/", "a-", "b/a"]),
    delimiter=st.sampled_from([None, "/", "-", "b"]),
    max_keys=st.integers(1, 7),
)
def test_pagination_matches_s3(
    tmp_path_factory: pytest.TempPathFactory,
    keys: set[str],
    prefix: str,
    delimiter: str | None,
    max_keys: int,
) -> None:
    # A filesystem cannot hold "a" and "a/b": keep the keys that are no other's directory.
    keys = {k for k in keys if not any(other.startswith(k + "/") for other in keys)}
    store = LocalStore(tmp_path_factory.mktemp("paging"))
    store.create_bucket("paging")
    for key in keys:
        store.put_object("paging", key, b"")

    listed: list[str] = []
    token = None
    while True:
        page = store.list_objects(
            "paging", prefix, delimiter=delimiter, max_keys=max_keys, continuation_token=token
        )
        entries = sorted([o.key for o in page.objects] + page.common_prefixes, key=str.encode)
        assert len(entries) <= max_keys
        listed += entries
        token = page.next_token
        if token is None:
            break

    assert listed == s3_model(keys, prefix, delimiter)
