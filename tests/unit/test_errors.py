"""The exception tree survives the trip through HTTP."""

from __future__ import annotations

import pytest

from modelyard import errors
from modelyard.ids import ResourceKind, make_arn, unique_name_from_base, validate_name


def test_error_body_round_trips_to_the_same_class() -> None:
    original = errors.NoSuchKeyError("no key 'x'", field="Key")
    rebuilt = errors.error_from_body(original.http_status, original.to_dict())
    assert type(rebuilt) is errors.NoSuchKeyError
    assert rebuilt.field == "Key"
    assert rebuilt.message == "no key 'x'"


def test_unknown_code_falls_back_to_the_status_class() -> None:
    rebuilt = errors.error_from_body(409, {"error": {"code": "Other", "message": "m"}})
    assert isinstance(rebuilt, errors.ConflictError)


def test_names_follow_sagemakers_pattern() -> None:
    assert validate_name("my-job-1", ResourceKind.TRAINING_JOB) == "my-job-1"


@pytest.mark.parametrize("bad", ["", "-x", "x-", "a_b", "a" * 64, 3])
def test_bad_names_are_refused_naming_the_field(bad: object) -> None:
    with pytest.raises(errors.InvalidNameError) as refused:
        validate_name(bad, ResourceKind.TRAINING_JOB, field="TrainingJobName")
    assert refused.value.field == "TrainingJobName"
    assert refused.value.http_status == 400


def test_arns_have_sagemakers_shape() -> None:
    arn = make_arn(ResourceKind.TRAINING_JOB, "My-Job")
    assert arn == "arn:aws:sagemaker:local:000000000000:training-job/my-job"


def test_unique_names_fit_and_validate() -> None:
    name = unique_name_from_base("x" * 80)
    assert len(name) <= 63
    validate_name(name, ResourceKind.TRAINING_JOB)


def test_a_taken_name_comes_back_as_already_exists() -> None:
    original = errors.AlreadyExistsError("training-job 'x' already exists", field="Name")
    rebuilt = errors.error_from_body(409, original.to_dict())
    assert type(rebuilt) is errors.AlreadyExistsError
