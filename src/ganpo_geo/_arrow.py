"""Object arrays of texts to Arrow strings and to pandas' ``str`` arrays, touching each distinct
text object once rather than every row.

A batch's result columns repeat a few text objects (verdicts, unit names, the data notice, an
empty warning) over many rows, and the chunks of a batch are converted on several threads.
Converting row by row holds the GIL for every row, so the threads wait on each other; here the
rows are dictionary-encoded by object identity (the array's pointers read as integers, hashed
by pandas without Python objects), only the distinct objects are converted, and Arrow decodes
the dictionary without the GIL.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["str_array", "text_array"]


def _by_object(values: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(values, codes, first)``: the array as a contiguous object array, each row's distinct
    object (code) and the first row of each distinct object."""
    values = np.ascontiguousarray(values, dtype=object)
    pointers = np.frombuffer(values, dtype=np.uintp)  # the objects' addresses (values stays alive)
    codes, distinct = pd.factorize(pointers)
    first = np.empty(len(distinct), dtype=np.intp)
    first[codes[::-1]] = np.arange(len(codes) - 1, -1, -1)  # the first row of each object
    return values, codes, first


def _decoded(codes: np.ndarray, dictionary: pa.Array) -> pa.Array:
    encoded = pa.DictionaryArray.from_arrays(pa.array(codes.astype(np.int32)), dictionary)
    return pc.cast(encoded, dictionary.type)


def text_array(values: np.ndarray) -> pa.Array:
    """An object array of texts (None/NaN missing) as an Arrow string array.

    Same values as ``pa.array(values, pa.string(), from_pandas=True)``, which it falls back to
    for an empty array; raises as it does for values that are not texts.

    Parameters
    ----------
    values : numpy.ndarray
        Object array of ``str`` (None or NaN for missing values).

    Returns
    -------
    pyarrow.Array
        ``string`` typed.
    """
    if not len(values):
        return pa.array(np.asarray(values, dtype=object), pa.string(), from_pandas=True)
    values, codes, first = _by_object(values)
    return _decoded(codes, pa.array(values[first], pa.string(), from_pandas=True))


def str_array(values: np.ndarray) -> Any:
    """An object array of texts as the array pandas stores for it in a frame (``str`` dtype),
    or None when not every value is a ``str`` (then pandas keeps it as objects, and so should the caller).

    Parameters
    ----------
    values : numpy.ndarray
        Object array.

    Returns
    -------
    pandas.arrays.ArrowStringArray or None
        Equal to ``pd.Series(values).array`` when all values are ``str``.
    """
    if not len(values):
        return None
    values, codes, first = _by_object(values)
    distinct = values[first]
    if not all(type(v) is str for v in distinct.tolist()):
        return None
    texts = _decoded(codes, pa.array(distinct, pa.large_string()))
    return pd.array(texts, dtype=pd.StringDtype("pyarrow", na_value=np.nan))
