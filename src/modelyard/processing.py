"""``modelyard.processing``: processors and their inputs (``sagemaker.processing``)."""

from modelyard.sdk.framework_processing import FrameworkProcessor
from modelyard.sdk.processing import (
    ProcessingInput,
    ProcessingJob,
    ProcessingOutput,
    Processor,
    ScriptProcessor,
)

__all__ = [
    "FrameworkProcessor",
    "ProcessingInput",
    "ProcessingJob",
    "ProcessingOutput",
    "Processor",
    "ScriptProcessor",
]
