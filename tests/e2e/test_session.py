"""``modelyard.Session()`` as a notebook uses it: no set-up, sagemaker's data helpers."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import modelyard
from modelyard.api.server import read_state, stop_background
from modelyard.config import Settings
from modelyard.errors import NoSuchBucketError


@pytest.fixture
def session(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[modelyard.Session]:
    monkeypatch.setenv("MODELYARD_SERVER_PORT", "0")
    fresh = Settings()
    started = modelyard.Session(settings=fresh)
    yield started
    started.close()
    stop_background(fresh)


def test_session_starts_a_server_for_its_home(session: modelyard.Session) -> None:
    running = read_state(session.settings)
    assert running is not None
    assert running.url == session.url
    again = modelyard.Session(settings=session.settings)
    assert again.url == session.url
    again.close()


def test_upload_and_download_like_sagemaker(session: modelyard.Session, tmp_path: Path) -> None:
    data = tmp_path / "data"
    (data / "sub").mkdir(parents=True)
    (data / "train.csv").write_text("1,2\n3,4\n")
    (data / "sub" / "more.csv").write_text("5,6\n")

    prefix_uri = session.upload_data(data, key_prefix="inputs/train")
    file_uri = session.upload_data(data / "train.csv", key_prefix="single")

    bucket = session.default_bucket()
    assert prefix_uri == f"s3://{bucket}/inputs/train"
    assert file_uri == f"s3://{bucket}/single/train.csv"
    assert session.read_s3_file(bucket, "single/train.csv") == "1,2\n3,4\n"

    paths = session.download_data(tmp_path / "back", bucket, key_prefix="inputs/train")
    assert sorted(Path(p).relative_to(tmp_path / "back").as_posix() for p in paths) == [
        "sub/more.csv",
        "train.csv",
    ]


def test_errors_come_back_as_the_same_classes(session: modelyard.Session) -> None:
    with pytest.raises(NoSuchBucketError):
        session.read_s3_file("no-such-bucket", "x")
