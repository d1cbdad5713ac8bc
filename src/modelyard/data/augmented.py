"""AugmentedManifestFile channels: JSON Lines whose chosen attributes stream through Pipe mode.

SageMaker's contract ("Augmented Manifest File Format for Pipe Mode Training"):
the manifest is JSON Lines; for each line, in order, the attributes named by
``AttributeNames`` are sent, in that order, through the channel's FIFO. An
attribute whose name ends in ``-ref`` holds an ``s3://`` URI and sends the
bytes of that object; any other attribute sends its value. With
``RecordWrapperType=RecordIO`` each attribute is one record (the documented
example: ``record(image1.jpg) record("1") record(image2.jpg) record("0")``);
without it the bytes follow one another unframed.

What a value's bytes are: SageMaker documents ``1`` becoming ``"1"``. We send
a string value as its UTF-8 text and any other JSON value in compact JSON
(``1`` -> ``1``, ``{"a": 1}`` -> ``{"a":1}``); whether SageMaker quotes strings
is not documented. ``CompressionType=Gzip`` applies to the referenced objects.

Lines are what shuffle (``Seed`` and epoch) and ``ShardedByS3Key`` (round-robin)
act on, as the API documents for this data type. A line without one of the
attributes, or with a ``-ref`` that is not an S3 URI, is refused before
anything runs; a referenced object that is missing fails feeding when reached
(heading every object up front would cost a round trip per line).
``StagedChannel.object_count`` counts this host's lines; ``bytes_total`` is 0
(the referenced objects' sizes are not known up front).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from modelyard.data.channel import ChannelSpec
from modelyard.data.pipe import start_feeder
from modelyard.data.progress import ProgressFile
from modelyard.data.selection import MAX_MANIFEST_BYTES, ObjectRef, host_order
from modelyard.data.staged import StagedChannel
from modelyard.data.streams import check_record_size, delivery
from modelyard.errors import NotFoundError, ValidationError
from modelyard.formats import recordio
from modelyard.store.base import Store
from modelyard.store.uri import S3Uri, parse_s3_uri, validate_key

REF_SUFFIX = "-ref"


@dataclass(frozen=True)
class ManifestLine:
    """One line of the manifest: its number and the parts it sends, in attribute order."""

    number: int
    parts: tuple[bytes | S3Uri, ...]


def read_manifest_lines(store: Store, spec: ChannelSpec) -> list[ManifestLine]:
    """Every line of the channel's manifest, checked; refuses a manifest with no line."""
    source = spec.s3
    uri_field = spec.field("DataSource.S3DataSource.S3Uri")
    names_field = spec.field("DataSource.S3DataSource.AttributeNames")
    try:
        info, stream = store.open_object_with_info(source.uri.bucket, source.uri.key)
    except NotFoundError as exc:
        raise ValidationError(
            f"augmented manifest {source.uri} does not exist: {exc.message}", field=uri_field
        ) from exc
    lines: list[ManifestLine] = []
    with stream:
        if info.size > MAX_MANIFEST_BYTES:
            raise ValidationError(
                f"augmented manifest {source.uri} is {info.size} bytes; the limit is "
                f"{MAX_MANIFEST_BYTES}",
                field=uri_field,
            )
        for number, raw in enumerate(stream, start=1):
            if not raw.strip():
                continue
            try:
                document = json.loads(raw)
            except ValueError as exc:
                raise ValidationError(
                    f"augmented manifest {source.uri}, line {number}: not JSON ({exc})",
                    field=uri_field,
                ) from exc
            if not isinstance(document, dict):
                raise ValidationError(
                    f"augmented manifest {source.uri}, line {number}: not a JSON object",
                    field=uri_field,
                )
            parts = tuple(
                _part(document, name, f"{source.uri}, line {number}", names_field)
                for name in source.attribute_names
            )
            lines.append(ManifestLine(number, parts))
    if not lines:
        raise ValidationError(
            f"channel {spec.name!r} has no data: augmented manifest {source.uri} has no line",
            field=uri_field,
        )
    return lines


def stage_augmented(
    store: Store,
    spec: ChannelSpec,
    channel_dir: Path,
    host_index: int,
    host_count: int,
    *,
    progress: ProgressFile | None = None,
    first_epoch: int = 0,
) -> StagedChannel:
    """Feed the manifest's lines through ``<channel>_<epoch>`` as Pipe mode does objects."""
    lines = read_manifest_lines(store, spec)
    mine = host_order(lines, spec, host_index, host_count, 0)

    def deliver(line: ManifestLine) -> Iterator[bytes]:
        return _line_bytes(store, spec, line)

    feeder = start_feeder(
        spec,
        lines,
        deliver,
        channel_dir,
        host_index,
        host_count,
        progress=progress,
        first_epoch=first_epoch,
    )
    return StagedChannel(spec.name, "Pipe", channel_dir, object_count=len(mine), feeder=feeder)


def _part(document: dict[str, object], name: str, where: str, names_field: str) -> bytes | S3Uri:
    if name not in document:
        raise ValidationError(
            f"augmented manifest {where}: no attribute {name!r} (AttributeNames lists it)",
            field=names_field,
        )
    value = document[name]
    if name.endswith(REF_SUFFIX):
        if not isinstance(value, str):
            raise ValidationError(
                f"augmented manifest {where}: {name!r} must hold an s3:// URI, not {value!r}",
                field=names_field,
            )
        uri = parse_s3_uri(value, field=names_field)
        validate_key(uri.key, field=names_field)
        return uri
    if isinstance(value, str):
        return value.encode("utf-8")
    return json.dumps(value, separators=(",", ":")).encode("utf-8")


def _line_bytes(store: Store, spec: ChannelSpec, line: ManifestLine) -> Iterator[bytes]:
    for part in line.parts:
        if isinstance(part, bytes):
            if spec.recordio:
                check_record_size(len(part), f"attribute value on manifest line {line.number}")
                yield recordio.frame([part])
            else:
                yield part
            continue
        try:
            size = store.head_object(part.bucket, part.key).size
        except NotFoundError as exc:
            raise ValidationError(
                f"augmented manifest line {line.number} refers to {part}, which does not exist",
                field=spec.field("DataSource.S3DataSource.S3Uri"),
            ) from exc
        ref = ObjectRef(part.bucket, part.key, size, part.name)
        yield from delivery(store, ref, gzip=spec.gzip, recordio_wrap=spec.recordio)
