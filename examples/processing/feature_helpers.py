"""Helpers of spark_features.py, shipped to Spark with ``submit_py_files``."""

from pyspark.sql import Column
from pyspark.sql import functions as F  # noqa: N812 - the PySpark idiom


def rounded(column: Column, digits: int = 2) -> Column:
    """``column`` rounded to ``digits`` decimals (money)."""
    return F.round(column, digits)
