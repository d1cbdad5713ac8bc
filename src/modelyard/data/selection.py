"""Which objects a channel delivers to a host, in which order.

Pure selection logic, shared by every input mode and by the controller's
pre-flight check (:func:`validate_channel`).

Listing
    ``S3Prefix``: every object whose key starts with the URI's key, as S3
    matches prefixes (``s3://b/data/train`` also matches ``data/train2.csv``),
    in key order; keys ending in ``/`` (folder markers) are skipped.
    ``ManifestFile``: a JSON array ``[{"prefix": "s3://b/p/"}, "rel1", ...]``;
    each key is the prefix's key with the suffix appended, in manifest order
    (duplicates kept: Pipe mode delivers them twice).

Where an object lands (File and FastFile)
    ``key[len(prefix):].lstrip("/")``, or the key's last segment when the key
    *is* the prefix (a URI naming one object): the rule of the SageMaker SDK's
    local mode (``sagemaker.utils.download_folder``). ``s3://b/data/train`` puts
    ``data/train/a.csv`` at ``<channel>/a.csv``; ``data/train2.csv`` lands at
    ``<channel>/2.csv``, which is why a prefix should end with ``/``. For a
    manifest, an object lands at its suffix.

Shuffle (``ShuffleConfig.Seed``)
    The channel's whole object list (key order, or manifest order) is shuffled
    with ``random.Random(f"{seed}:{epoch}").shuffle`` (a string seed is hashed
    with SHA-512: stable across Python versions and machines). File and
    FastFile use epoch 0; Pipe reshuffles at every epoch, as SageMaker does.

Sharding (``ShardedByS3Key``)
    SageMaker documents only that each of n hosts gets about 1/n of the
    objects. We deal round-robin: host ``i`` (0-based) gets positions
    ``i, i + n, i + 2n, ...`` of the (shuffled) list. Every host shuffles the
    same list with the same seed, so each epoch is an exact partition, and with
    a shuffle an object may go to another host at the next epoch (SageMaker
    documents that too). More hosts than objects leaves some hosts with none,
    as in SageMaker; a channel with no objects at all is refused.
"""

from __future__ import annotations

import json
import random
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

from modelyard.data.channel import (
    ChannelSpec,
    FileSystemSource,
    S3Source,
    parse_channel,
)
from modelyard.errors import InvalidKeyError, NotFoundError, ValidationError
from modelyard.store.base import Store
from modelyard.store.uri import S3Uri, parse_s3_uri, validate_key

HEAD_WORKERS = 8
MAX_MANIFEST_BYTES = 256 * 1024 * 1024

T = TypeVar("T")


@dataclass(frozen=True)
class ObjectRef:
    """One object a channel delivers, and where it lands under the channel directory."""

    bucket: str
    key: str
    size: int
    relative_path: str

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.key}"


def list_channel_objects(
    store: Store,
    channel: Mapping[str, Any],
    *,
    host_index: int,
    host_count: int,
    epoch: int = 0,
    input_mode: str | None = None,
    index: int | None = None,
) -> list[ObjectRef]:
    """The objects ``channel`` gives host ``host_index`` (0-based) of ``host_count``.

    Raises ValidationError when the channel as a whole has no object, or names
    a bucket, manifest or manifest entry that does not exist. ``index`` (the
    channel's position in ``InputDataConfig``) only shapes the errors' field.
    """
    spec = parse_channel(channel, input_mode=input_mode, index=index)
    return host_order(list_all_objects(store, spec), spec, host_index, host_count, epoch)


def validate_channel(
    store: Store, channel: Mapping[str, Any], index: int, *, input_mode: str | None = None
) -> ChannelSpec:
    """Pre-flight check of ``InputDataConfig[index]``: its shape, and that it has data.

    A file-system channel's directory must exist; an S3 channel must select at
    least one object. Errors name ``InputDataConfig.<index>.<member>``.
    """
    spec = parse_channel(channel, input_mode=input_mode, index=index)
    if isinstance(spec.source, FileSystemSource):
        from modelyard.data.filesystem import check_directory

        check_directory(spec)
    elif spec.s3.data_type == "AugmentedManifestFile":
        from modelyard.data.augmented import read_manifest_lines

        read_manifest_lines(store, spec)
    else:
        list_all_objects(store, spec)
    return spec


def list_all_objects(store: Store, spec: ChannelSpec) -> list[ObjectRef]:
    """Every object of an S3 channel, in key or manifest order, before shuffle and shard."""
    source = spec.s3
    uri_field = spec.field("DataSource.S3DataSource.S3Uri")
    if source.data_type == "S3Prefix":
        objects = _list_prefix(store, source.uri, uri_field)
    elif source.data_type == "ManifestFile":
        objects = _list_manifest(store, source, uri_field)
    else:
        raise ValidationError(
            f"channel {spec.name!r}: an AugmentedManifestFile channel streams manifest lines, "
            "not a list of objects",
            field=spec.field("DataSource.S3DataSource.S3DataType"),
        )
    if not objects:
        raise ValidationError(
            f"channel {spec.name!r} has no data: no object matches {source.uri} "
            f"({source.data_type}). Upload the data or fix the URI",
            field=uri_field,
        )
    return objects


def host_order(
    items: Sequence[T], spec: ChannelSpec, host_index: int, host_count: int, epoch: int = 0
) -> list[T]:
    """``items`` shuffled for ``epoch`` (when the channel shuffles), then this host's share."""
    check_host(host_index, host_count)
    ordered = list(items)
    if spec.shuffle_seed is not None:
        ordered = shuffled(ordered, spec.shuffle_seed, epoch)
    if isinstance(spec.source, S3Source) and spec.source.sharded:
        ordered = ordered[host_index::host_count]
    return ordered


def shuffled(items: Sequence[T], seed: int, epoch: int) -> list[T]:
    """``items`` in the order ``ShuffleConfig.Seed`` gives epoch ``epoch``."""
    ordered = list(items)
    random.Random(f"{seed}:{epoch}").shuffle(ordered)
    return ordered


def check_host(host_index: int, host_count: int) -> None:
    if host_count < 1 or not 0 <= host_index < host_count:
        raise ValidationError(
            f"host_index={host_index} must be in [0, host_count={host_count})",
            field="host_index",
        )


def relative_path(key: str, prefix: str) -> str:
    """Where ``key``, listed under ``prefix``, lands below the channel directory."""
    relative = key[len(prefix) :].lstrip("/")
    return relative or key.rsplit("/", 1)[-1]


def _list_prefix(store: Store, uri: S3Uri, uri_field: str) -> list[ObjectRef]:
    try:
        return [
            ObjectRef(uri.bucket, info.key, info.size, relative_path(info.key, uri.key))
            for info in store.iter_objects(uri.bucket, uri.key)
            if not info.key.endswith("/")
        ]
    except NotFoundError as exc:
        raise ValidationError(f"{uri}: {exc.message}", field=uri_field) from exc


def _list_manifest(store: Store, source: S3Source, uri_field: str) -> list[ObjectRef]:
    manifest = _read_manifest(store, source.uri, uri_field)
    base = _manifest_base(manifest, source.uri, uri_field)
    entries: list[tuple[str, str]] = []
    for position, suffix in enumerate(manifest[1:], start=1):
        if not isinstance(suffix, str) or not suffix:
            raise ValidationError(
                f"manifest {source.uri}: element {position} is {suffix!r}, not a key suffix",
                field=uri_field,
            )
        key = base.key + suffix
        try:
            validate_key(key, field=uri_field)
        except InvalidKeyError as exc:
            raise ValidationError(
                f"manifest {source.uri}: element {position} gives key {key!r}: {exc.message}",
                field=uri_field,
            ) from exc
        entries.append((key, suffix.lstrip("/") or key.rsplit("/", 1)[-1]))
    sizes = _sizes(store, base.bucket, sorted({key for key, _ in entries}), source.uri, uri_field)
    return [ObjectRef(base.bucket, key, sizes[key], rel) for key, rel in entries]


def _read_manifest(store: Store, uri: S3Uri, uri_field: str) -> Any:
    try:
        info, stream = store.open_object_with_info(uri.bucket, uri.key)
    except NotFoundError as exc:
        raise ValidationError(
            f"manifest {uri} does not exist: {exc.message}", field=uri_field
        ) from exc
    with stream:
        if info.size > MAX_MANIFEST_BYTES:
            raise ValidationError(
                f"manifest {uri} is {info.size} bytes; the limit is {MAX_MANIFEST_BYTES}",
                field=uri_field,
            )
        raw = stream.read()
    try:
        return json.loads(raw)
    except (UnicodeDecodeError, ValueError) as exc:
        raise ValidationError(f"manifest {uri} is not JSON: {exc}", field=uri_field) from exc


def _manifest_base(manifest: Any, uri: S3Uri, uri_field: str) -> S3Uri:
    if (
        not isinstance(manifest, list)
        or not manifest
        or not isinstance(manifest[0], dict)
        or not isinstance(manifest[0].get("prefix"), str)
    ):
        raise ValidationError(
            f"manifest {uri} must be a JSON array whose first element is "
            '{"prefix": "s3://bucket/prefix/"} followed by key suffixes',
            field=uri_field,
        )
    base = parse_s3_uri(manifest[0]["prefix"], field=uri_field)
    if not base.key:
        raise ValidationError(
            f"manifest {uri}: its prefix {manifest[0]['prefix']!r} must name a non-empty prefix",
            field=uri_field,
        )
    return base


def _sizes(
    store: Store, bucket: str, keys: list[str], manifest: S3Uri, uri_field: str
) -> dict[str, int]:
    def head(key: str) -> tuple[str, int]:
        try:
            return key, store.head_object(bucket, key).size
        except NotFoundError as exc:
            raise ValidationError(
                f"manifest {manifest} lists s3://{bucket}/{key}, which does not exist",
                field=uri_field,
            ) from exc

    if not keys:
        return {}
    with ThreadPoolExecutor(max_workers=min(HEAD_WORKERS, len(keys))) as pool:
        return dict(pool.map(head, keys))
