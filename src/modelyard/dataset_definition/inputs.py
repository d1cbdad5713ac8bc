"""``modelyard.dataset_definition.inputs``: where sagemaker code imports the definitions."""

from modelyard.sdk.dataset_definition import (
    AthenaDatasetDefinition,
    DatasetDefinition,
    FileSystemDatasetDefinition,
    RedshiftDatasetDefinition,
    S3Input,
)

__all__ = [
    "AthenaDatasetDefinition",
    "DatasetDefinition",
    "FileSystemDatasetDefinition",
    "RedshiftDatasetDefinition",
    "S3Input",
]
