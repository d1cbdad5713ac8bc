"""``modelyard.exceptions``: the SDK's exceptions under sagemaker's names."""

from modelyard.sdk.training_jobs import UnexpectedStatusException

__all__ = ["UnexpectedStatusException"]
