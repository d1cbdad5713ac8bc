"""``modelyard.spark``: Spark processing (``sagemaker.spark``)."""

from modelyard.sdk.spark import PySparkProcessor

__all__ = ["PySparkProcessor"]
