"""CSV, JSON / JSON Lines, libsvm, NPY and Parquet/Arrow: round trips and errors."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
import scipy.sparse
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from modelyard.formats import (
    FormatError,
    SparseRows,
    read_arrow,
    read_csv,
    read_json,
    read_jsonlines,
    read_libsvm,
    read_npy,
    read_npz,
    read_parquet,
    read_parquet_table,
    write_arrow,
    write_csv,
    write_json,
    write_jsonlines,
    write_libsvm,
    write_npy,
    write_npz,
    write_parquet,
)

finite = st.floats(allow_nan=False, allow_infinity=False)
float_matrices = hnp.arrays(
    np.float64,
    st.tuples(st.integers(1, 8), st.integers(1, 6)),
    elements=st.floats(allow_nan=True, allow_infinity=True),
)


@settings(max_examples=150, deadline=None)
@given(float_matrices)
def test_csv_round_trips_floats_exactly(matrix: np.ndarray) -> None:
    assert np.array_equal(read_csv(write_csv(matrix)), matrix, equal_nan=True)


@settings(max_examples=50, deadline=None)
@given(
    hnp.arrays(
        np.int64,
        st.tuples(st.integers(1, 6), st.integers(1, 6)),
        elements=st.integers(-(2**53), 2**53),
    )
)
def test_csv_round_trips_integers(matrix: np.ndarray) -> None:
    assert np.array_equal(read_csv(write_csv(matrix), dtype=np.int64), matrix)


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.lists(
            st.text(
                alphabet=st.characters(codec="utf-8", exclude_characters="\r\n\x00"), min_size=1
            ),
            min_size=3,
            max_size=3,
        ),
        min_size=1,
        max_size=5,
    )
)
def test_csv_round_trips_strings(rows: list[list[str]]) -> None:
    table = read_csv(write_csv(rows), dtype=str)
    assert table.tolist() == rows


def test_csv_conventions() -> None:
    assert write_csv(np.array([1.5, 2.0])) == b"1.5\n2.0\n"  # 1-D: one value per line
    assert read_csv(b"1,2\n3,\n").tolist()[1][0] == 3.0
    assert np.isnan(read_csv(b"1,2\n3,\n")[1, 1])  # empty cell -> NaN
    assert read_csv(b"a,1\nb,2\n").tolist() == [["a", "1"], ["b", "2"]]
    assert read_csv("\ufeff1,2\n".encode()).tolist() == [[1.0, 2.0]]  # BOM
    assert read_csv(b"").shape == (0, 0)
    frame = pd.DataFrame({"a": [1, 2], "b": ["x", "y"]})
    assert write_csv(frame) == b"1,x\n2,y\n"


def test_csv_ragged_rows_name_the_line() -> None:
    with pytest.raises(FormatError) as info:
        read_csv(b"1,2\n3\n")
    assert info.value.field == "line 2"


def test_csv_refuses_3d() -> None:
    with pytest.raises(FormatError):
        write_csv(np.zeros((1, 1, 1)))


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | finite | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=150, deadline=None)
@given(st.lists(json_values, max_size=8))
def test_jsonlines_round_trip(items: list[Any]) -> None:
    assert read_jsonlines(write_jsonlines(items)) == items


@settings(max_examples=100, deadline=None)
@given(json_values)
def test_json_round_trip(item: Any) -> None:
    assert read_json(write_json(item)) == item


def test_json_writes_numpy() -> None:
    data = {"a": np.arange(3), "b": np.float32(0.5), "c": [np.int64(2)]}
    assert read_json(write_json(data)) == {"a": [0, 1, 2], "b": 0.5, "c": [2]}
    assert read_jsonlines(write_jsonlines(np.eye(2))) == [[1.0, 0.0], [0.0, 1.0]]


def test_jsonlines_errors_name_line_and_offset() -> None:
    body = b'{"a": 1}\n\n{"b": }\n'
    with pytest.raises(FormatError) as info:
        read_jsonlines(body)
    assert info.value.field == "line 3"
    assert info.value.offset == body.index(b"}", 12)


def test_json_error_names_offset() -> None:
    with pytest.raises(FormatError) as info:
        read_json(b"[1, 2,, 3]")
    assert info.value.offset == 6


@st.composite
def sparse_tables(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray | None]:
    rows, columns = draw(st.integers(1, 8)), draw(st.integers(1, 8))
    values = draw(hnp.arrays(np.float64, (rows, columns), elements=finite))
    mask = draw(hnp.arrays(np.bool_, (rows, columns)))
    labels = draw(st.none() | hnp.arrays(np.float64, (rows,), elements=finite))
    return np.where(mask, values, 0.0), labels


@settings(max_examples=150, deadline=None)
@given(sparse_tables(), st.booleans())
def test_libsvm_round_trip(case: tuple[np.ndarray, np.ndarray | None], zero_based: bool) -> None:
    matrix, labels = case
    text = write_libsvm(matrix, labels, zero_based=zero_based)
    rows = read_libsvm(text, zero_based=zero_based, n_features=matrix.shape[1])
    assert np.array_equal(rows.to_dense(), matrix)
    assert (rows.to_csr() != scipy.sparse.csr_matrix(matrix)).nnz == 0
    if labels is None:
        assert rows.labels is None
    else:
        assert rows.labels is not None
        assert np.array_equal(rows.labels, labels)
    again = write_libsvm(scipy.sparse.csr_matrix(matrix), labels, zero_based=zero_based)
    assert again == text


def test_libsvm_reading_conventions() -> None:
    rows = read_libsvm(b"1 qid:3 0:1.5 3:2 # a comment\n# only a comment\n0 1:-1\n")
    assert rows.shape == (2, 4)
    assert rows.labels is not None
    assert rows.labels.tolist() == [1.0, 0.0]
    assert rows.to_dense().tolist() == [[1.5, 0, 0, 2], [0, -1, 0, 0]]
    assert read_libsvm(b"1:2\n", zero_based=False).to_dense().tolist() == [[2.0]]
    assert isinstance(rows, SparseRows)
    blank = read_libsvm(b"1 0:1\n\n")  # a blank line is a row without label or features
    assert blank.shape == (2, 1)
    assert blank.labels is not None
    assert np.isnan(blank.labels[1])


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b"1 0:1\nx 1:2\n", "line 2"),
        (b"1 a:1\n", "line 1"),
        (b"1 2\n", "line 1"),
        (b"1 3:z\n", "line 1"),
    ],
)
def test_libsvm_errors_name_the_line(body: bytes, field: str) -> None:
    with pytest.raises(FormatError) as info:
        read_libsvm(body)
    assert info.value.field == field


@settings(max_examples=100, deadline=None)
@given(
    hnp.arrays(
        hnp.scalar_dtypes(), hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=4)
    )
)
def test_npy_round_trip(array: np.ndarray) -> None:
    back = read_npy(write_npy(array))
    assert back.dtype == array.dtype
    assert back.shape == array.shape
    assert back.tobytes() == array.tobytes()


def test_npz_round_trip_and_npy_errors() -> None:
    arrays = {"x": np.arange(3), "y": np.eye(2)}
    back = read_npz(write_npz(arrays))
    assert set(back) == {"x", "y"}
    assert np.array_equal(back["y"], arrays["y"])
    with pytest.raises(FormatError):
        read_npy(b"not numpy")
    with pytest.raises(FormatError, match="npz"):
        read_npy(write_npz(arrays))
    objects = np.array([{"a": 1}], dtype=object)
    import io

    buffer = io.BytesIO()
    np.save(buffer, objects, allow_pickle=True)
    with pytest.raises(FormatError):
        read_npy(buffer.getvalue())  # pickles are refused by default
    assert read_npy(buffer.getvalue(), allow_pickle=True)[0] == {"a": 1}


@settings(max_examples=40, deadline=None)
@given(
    st.integers(0, 20).flatmap(
        lambda rows: st.fixed_dictionaries(
            {
                "f": hnp.arrays(np.float64, (rows,), elements=st.floats(allow_nan=True)),
                "i": hnp.arrays(np.int32, (rows,)),
                "s": st.lists(st.text(max_size=5), min_size=rows, max_size=rows),
                "b": st.lists(st.booleans(), min_size=rows, max_size=rows),
            }
        )
    )
)
def test_parquet_and_arrow_round_trip(columns: dict[str, Any]) -> None:
    frame = pd.DataFrame(columns)
    back = read_parquet(write_parquet(frame))
    pd.testing.assert_frame_equal(back, frame, check_dtype=False)
    assert read_parquet_table(write_parquet(frame)).num_rows == len(frame)
    assert read_arrow(write_arrow(frame)).to_pandas().equals(read_parquet(write_parquet(frame)))


def test_parquet_from_arrays_and_errors() -> None:
    matrix = np.arange(6.0).reshape(3, 2)
    back = read_parquet(write_parquet(matrix))
    assert list(back.columns) == ["0", "1"]
    assert np.array_equal(back.to_numpy(), matrix)
    assert read_parquet(write_parquet({"x": [1, 2]}))["x"].tolist() == [1, 2]
    with pytest.raises(FormatError):
        read_parquet(b"PAR1 but not really")
    with pytest.raises(FormatError):
        read_arrow(b"nope")
    with pytest.raises(FormatError):
        write_parquet(np.zeros((1, 1, 1)))
