"""``modelyard.pipeline``: where sagemaker code finds ``PipelineModel`` (``sagemaker.pipeline``)."""

from modelyard.sdk.pipeline import PipelineModel

__all__ = ["PipelineModel"]
