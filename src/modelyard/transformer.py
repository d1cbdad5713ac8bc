"""``modelyard.transformer``: where sagemaker code finds ``Transformer``."""

from modelyard.sdk.transformer import Transformer

__all__ = ["Transformer"]
