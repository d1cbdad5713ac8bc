"""``modelyard.dataset_definition``: SQL and file-system inputs of processing jobs."""

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
