"""``modelyard.spark.processing``: where sagemaker code imports ``PySparkProcessor`` from."""

from modelyard.sdk.spark import PySparkProcessor

__all__ = ["PySparkProcessor"]
