"""``modelyard.inputs``: channel configurations (``sagemaker.inputs``)."""

from modelyard.sdk.inputs import FileSystemInput, ShuffleConfig, TrainingInput

__all__ = ["FileSystemInput", "ShuffleConfig", "TrainingInput"]
