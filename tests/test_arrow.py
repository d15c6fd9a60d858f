"""Tests for ganpo_geo._arrow: texts to Arrow and to pandas' str arrays, per distinct object."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from ganpo_geo._arrow import str_array, text_array

SHARED = "江西省 Jiangxi"
TWIN = "".join(["江西省", " Jiangxi"])  # equal text, another object


def _cases(values: np.ndarray) -> list[np.ndarray]:
    return [values, values[::-1], values[:0], np.array([SHARED] * 1_000, dtype=object), values[::2]]


def test_text_array_is_pyarrow_of_the_objects() -> None:
    values = np.array([SHARED, TWIN, "", None, np.nan, SHARED, "a" * 400, TWIN, None], dtype=object)
    for case in _cases(values):
        assert text_array(case).equals(pa.array(case, pa.string(), from_pandas=True))


def test_text_array_refuses_what_is_not_text() -> None:
    with pytest.raises((pa.ArrowInvalid, pa.ArrowTypeError)):
        text_array(np.array(["a", 3], dtype=object))


def test_str_array_is_what_a_frame_stores_for_texts() -> None:
    values = np.array([SHARED, TWIN, "", SHARED, "a" * 400, TWIN, ""], dtype=object)
    for case in _cases(values)[:2] + _cases(values)[3:]:
        expected = pd.Series(case, copy=False).array
        got = str_array(case)
        assert got is not None and got.dtype == expected.dtype == "str"
        pd.testing.assert_series_equal(pd.Series(got), pd.Series(expected))


@pytest.mark.parametrize(
    "values",
    [
        np.array(["a", 3], dtype=object),  # pandas keeps a mix as objects
        np.array(["a", None], dtype=object),  # a missing value: left to pandas' own inference
        np.array([np.str_("a"), "b"], dtype=object),  # a str subclass
        np.array([], dtype=object),
    ],
)
def test_str_array_leaves_anything_else_to_pandas(values) -> None:
    assert str_array(values) is None
