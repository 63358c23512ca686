"""DesignSpec coding rules, column kind by column kind."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cohortstat.errors import ModelInputError
from cohortstat.models.design import DesignSpec, complete_rows


def test_rules_per_column_kind():
    df = pd.DataFrame({
        "num": [1.5, 2.0, 3.0, 4.0],
        "ints_as_objects": pd.Series([10, 2, 1, 2], dtype=object),  # numeric sort: 1, 2, 10
        "text": ["b", "a", "c", "a"],
        "cat": pd.Categorical(["hi", "lo", "hi", "lo"], categories=["unused", "lo", "hi"]),
        "flag": [True, False, True, False],
        "nullable": pd.array([True, False, False, True], dtype="boolean"),
        "obj_bool": pd.Series([True, False, True, True], dtype=object),
    })
    spec = DesignSpec.from_frame(df, list(df.columns))
    assert spec.terms == ("num", "ints_as_objects[2]", "ints_as_objects[10]", "text[b]", "text[c]", "cat[hi]",
                          "flag[True]", "nullable[True]", "obj_bool[True]")
    assert spec.references == {"ints_as_objects": 1, "text": "a", "cat": "lo", "flag": False, "nullable": False,
                               "obj_bool": False}
    kinds = dict(zip(spec.describe()["column"], spec.describe()["kind"]))
    assert kinds["flag"] == kinds["nullable"] == kinds["obj_bool"] == "bool" and kinds["cat"] == "categorical"
    X = spec.matrix(df)
    np.testing.assert_array_equal(X[:, 1], [0, 1, 0, 1])  # ints_as_objects[2]
    np.testing.assert_array_equal(X[:, 5], [1, 0, 1, 0])  # cat[hi]
    assert X.flags.f_contiguous and spec.term_columns["text"] == (3, 4)


def test_single_level_and_duplicates_refused():
    df = pd.DataFrame({"a": ["x", "x"], "b": [1.0, 2.0]})
    with pytest.raises(ModelInputError, match="single level"):
        DesignSpec.from_frame(df, ["a"])
    with pytest.raises(ModelInputError, match="twice"):
        DesignSpec.from_frame(df, ["b", "b"])
    with pytest.raises(ModelInputError, match="missing must be"):
        DesignSpec.from_frame(df, ["b"], missing="impute")


def test_complete_rows_counts_per_column():
    df = pd.DataFrame({"a": [1.0, np.nan, 3.0, np.nan], "b": ["x", "y", None, "z"]})
    keep, note = complete_rows(df, ["a", "b"])
    np.testing.assert_array_equal(keep, [True, False, False, False])
    assert note == "3 row(s) dropped for missing values (a 2, b 1)"
    assert complete_rows(df.dropna(), ["a", "b"]) == (None, None)
