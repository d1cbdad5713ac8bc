"""Handler signatures are decided once, at load, and a wrong one is refused by name."""

from __future__ import annotations

import textwrap
from pathlib import Path
from types import ModuleType

import pytest

from modelyard.container.handlers import (
    Context,
    check_signature,
    import_user_module,
    resolve_handlers,
    user_module_path,
)
from modelyard.container.serving_errors import HandlerSignatureError, ModelError

DEFAULTS = {
    "model_fn": lambda model_dir: "model",
    "input_fn": lambda input_data, content_type: input_data,
    "predict_fn": lambda data, model: data,
    "output_fn": lambda prediction, accept: prediction,
}


def module(tmp_path: Path, source: str, name: str = "inference") -> ModuleType:
    path = tmp_path / f"{name}.py"
    path.write_text(textwrap.dedent(source))
    return import_user_module(path)


@pytest.mark.parametrize(
    "source",
    [
        "def model_fn(model_dir): pass",
        "def model_fn(model_dir, context): pass",
        "def model_fn(model_dir, context=None): pass",
        "def model_fn(path='/opt/ml/model'): pass",
        "def model_fn(model_dir, /): pass",
    ],
)
def test_accepted_model_fn_signatures(source: str) -> None:
    namespace: dict[str, object] = {}
    exec(source, namespace)
    takes_context = check_signature("model_fn", namespace["model_fn"], "inference.py")
    assert takes_context == ("context" in source)


def test_names_of_the_documented_parameters_are_free() -> None:
    def input_fn(request_body: bytes, request_content_type: str) -> None: ...

    def output_fn(prediction: object, content_type: str = "application/json") -> None: ...

    assert check_signature("input_fn", input_fn, "inference.py") is False
    assert check_signature("output_fn", output_fn, "inference.py") is False


@pytest.mark.parametrize(
    ("name", "source", "fragment"),
    [
        ("model_fn", "def model_fn(): pass", "0 parameter(s) where 1"),
        ("model_fn", "def model_fn(model_dir, file_name=None): pass", "'file_name'"),
        ("input_fn", "def input_fn(data): pass", "1 parameter(s) where 2"),
        ("input_fn", "def input_fn(data, content_type, accept, context): pass", "4 param"),
        ("predict_fn", "def predict_fn(data, context): pass", "parameter 2 is named 'context'"),
        ("predict_fn", "def predict_fn(*args): pass", "*args is not allowed"),
        ("predict_fn", "def predict_fn(data, model, **kwargs): pass", "**kwargs"),
        ("output_fn", "def output_fn(prediction, *, accept): pass", "keyword-only"),
        ("transform_fn", "def transform_fn(model, data, content_type): pass", "3 parameter"),
        ("model_fn", "model_fn = 42", "not a function"),
    ],
)
def test_wrong_signatures_are_refused_naming_the_function(
    tmp_path: Path, name: str, source: str, fragment: str
) -> None:
    user = module(tmp_path, source)
    with pytest.raises(HandlerSignatureError) as info:
        resolve_handlers(user, DEFAULTS, "test")
    error = info.value
    assert error.handler == name
    assert error.code == "ModelError"
    assert fragment in error.message
    assert "expected" in error.message
    assert name in error.message


def test_the_message_says_what_it_got_and_what_is_expected(tmp_path: Path) -> None:
    user = module(tmp_path, "def predict_fn(data): pass")
    with pytest.raises(HandlerSignatureError) as info:
        resolve_handlers(user, DEFAULTS, "test")
    assert info.value.message == (
        "code/inference.py defines predict_fn(data): 1 parameter(s) where 2 (or 2 + context) "
        "are expected; expected predict_fn(data, model) or predict_fn(data, model, context)"
    )


def test_transform_fn_with_input_fn_is_refused(tmp_path: Path) -> None:
    user = module(
        tmp_path,
        """
        def transform_fn(model, input_data, content_type, accept): pass
        def input_fn(input_data, content_type): pass
        def output_fn(prediction, accept): pass
        """,
    )
    with pytest.raises(HandlerSignatureError) as info:
        resolve_handlers(user, DEFAULTS, "test")
    assert info.value.handler == "transform_fn"
    assert "transform_fn and input_fn, output_fn" in info.value.message


def test_missing_handlers_come_from_the_defaults(tmp_path: Path) -> None:
    user = module(tmp_path, "def predict_fn(data, model, context):\n    return 1\n")
    handlers = resolve_handlers(user, DEFAULTS, "sklearn")
    assert handlers.predict_fn is not None
    assert handlers.predict_fn.takes_context
    assert handlers.predict_fn.origin == "code/inference.py"
    assert handlers.input_fn is not None
    assert handlers.input_fn.origin == "default sklearn"
    assert handlers.needs_context
    assert "predict_fn (with context) from code/inference.py" in handlers.describe()


def test_transform_fn_alone(tmp_path: Path) -> None:
    user = module(tmp_path, "def transform_fn(model, data, content_type, accept): pass")
    handlers = resolve_handlers(user, DEFAULTS, "x")
    assert handlers.transform_fn is not None
    assert handlers.input_fn is None
    assert handlers.predict_fn is None
    assert not handlers.needs_context


def test_no_user_module_means_all_defaults() -> None:
    handlers = resolve_handlers(None, DEFAULTS, "xgboost")
    assert {h.origin for h in [handlers.model_fn, *handlers.request_handlers()]} == {
        "default xgboost"
    }


def test_user_module_path(tmp_path: Path) -> None:
    assert user_module_path(tmp_path, None) is None
    (tmp_path / "inference.py").write_text("")
    (tmp_path / "train.py").write_text("")
    assert user_module_path(tmp_path, None) == tmp_path / "inference.py"
    assert user_module_path(tmp_path, "train.py") == tmp_path / "train.py"
    assert user_module_path(tmp_path, "train") == tmp_path / "train.py"
    with pytest.raises(ModelError, match=r"SAGEMAKER_PROGRAM='serve\.py'"):
        user_module_path(tmp_path, "serve.py")


def test_import_errors_name_the_file_and_hint_at_requirements(tmp_path: Path) -> None:
    (tmp_path / "requirements.txt").write_text("not-installed-package\n")
    with pytest.raises(ModelError) as info:
        module(tmp_path, "import not_installed_package_xyz", name="inference_broken")
    assert info.value.handler == "inference_broken.py"
    assert info.value.error_type == "ModuleNotFoundError"
    assert "not_installed_package_xyz" in info.value.message
    assert "requirements.txt is not installed" in info.value.message


def test_user_module_imports_its_siblings(tmp_path: Path) -> None:
    (tmp_path / "helper_for_serving_test.py").write_text("VALUE = 7\n")
    user = module(tmp_path, "from helper_for_serving_test import VALUE\n", name="inference_sib")
    assert user.VALUE == 7


def test_context_exposes_custom_attributes_and_headers() -> None:
    context = Context(
        "/opt/ml/model",
        {"x-amzn-sagemaker-custom-attributes": "trace=1", "content-type": "text/csv"},
    )
    assert context.custom_attributes == "trace=1"
    assert context.get_request_header(0, "Content-Type") == "text/csv"
    assert context.request_processor[0].get_request_properties()["content-type"] == "text/csv"
    assert context.system_properties["model_dir"] == "/opt/ml/model"
    context.set_response_header(0, "X-Amzn-SageMaker-Custom-Attributes", "ok=1")
    assert context.response_headers == [("X-Amzn-SageMaker-Custom-Attributes", "ok=1")]
    with pytest.raises(ValueError, match="invalid response header"):
        context.set_response_header(0, "X-Bad", "a\r\nSet-Cookie: x")
    assert Context("/m").custom_attributes is None
