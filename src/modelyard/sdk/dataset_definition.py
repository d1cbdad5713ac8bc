"""Dataset definitions and S3 inputs of processing jobs (``sagemaker.dataset_definition``).

Each class keeps sagemaker's constructor arguments and turns into the request's
PascalCase shape (``to_request``, sagemaker's ``to_boto``): attributes in order,
``None`` left out. ``AthenaDatasetDefinition`` runs DuckDB SQL over the store's objects,
``RedshiftDatasetDefinition`` SQL on the database its ``cluster_id`` names (a connection
of the server's ``MODELYARD_SQL_CONNECTIONS`` or a SQLAlchemy URL); modelyard adds
``FileSystemDatasetDefinition``, a directory of this machine read in place.
"""

from __future__ import annotations

from typing import Any, ClassVar

__all__ = [
    "AthenaDatasetDefinition",
    "DatasetDefinition",
    "FileSystemDatasetDefinition",
    "RedshiftDatasetDefinition",
    "S3Input",
]


def _pascal(name: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in name.split("_"))


class _RequestObject:
    """Attributes <-> the request's PascalCase members (sagemaker's ``ApiObject``)."""

    _nested: ClassVar[dict[str, type[_RequestObject]]] = {}

    def __init__(self, **kwargs: Any) -> None:
        self.__dict__.update(kwargs)

    def to_request(self) -> dict[str, Any]:
        body: dict[str, Any] = {}
        for name, value in vars(self).items():
            if value is None:
                continue
            body[_pascal(name)] = value.to_request() if isinstance(value, _RequestObject) else value
        return body

    @classmethod
    def from_request(cls, body: dict[str, Any] | None) -> Any:
        if body is None:
            return None
        names = {_pascal(name): name for name in cls._members()}
        kwargs: dict[str, Any] = {}
        for key, value in body.items():
            if key not in names:
                continue
            name = names[key]
            nested = cls._nested.get(name)
            kwargs[name] = nested.from_request(value) if nested is not None else value
        return cls(**kwargs)

    @classmethod
    def _members(cls) -> list[str]:
        return list(vars(cls()).keys())

    def __eq__(self, other: object) -> bool:
        return isinstance(other, self.__class__) and vars(self) == vars(other)

    def __hash__(self) -> int:
        return hash(tuple(sorted((k, repr(v)) for k, v in vars(self).items())))

    def __repr__(self) -> str:
        shown = ", ".join(f"{k}={v!r}" for k, v in vars(self).items() if v is not None)
        return f"{type(self).__name__}({shown})"


class RedshiftDatasetDefinition(_RequestObject):
    def __init__(
        self,
        cluster_id: str | None = None,
        database: str | None = None,
        db_user: str | None = None,
        query_string: str | None = None,
        cluster_role_arn: str | None = None,
        output_s3_uri: str | None = None,
        kms_key_id: str | None = None,
        output_format: str | None = None,
        output_compression: str | None = None,
    ) -> None:
        super().__init__(
            cluster_id=cluster_id,
            database=database,
            db_user=db_user,
            query_string=query_string,
            cluster_role_arn=cluster_role_arn,
            output_s3_uri=output_s3_uri,
            kms_key_id=kms_key_id,
            output_format=output_format,
            output_compression=output_compression,
        )


class AthenaDatasetDefinition(_RequestObject):
    def __init__(
        self,
        catalog: str | None = None,
        database: str | None = None,
        query_string: str | None = None,
        output_s3_uri: str | None = None,
        work_group: str | None = None,
        kms_key_id: str | None = None,
        output_format: str | None = None,
        output_compression: str | None = None,
    ) -> None:
        super().__init__(
            catalog=catalog,
            database=database,
            query_string=query_string,
            output_s3_uri=output_s3_uri,
            work_group=work_group,
            kms_key_id=kms_key_id,
            output_format=output_format,
            output_compression=output_compression,
        )


class FileSystemDatasetDefinition(_RequestObject):
    """modelyard's: a directory on this machine's file systems, bound read-only by default."""

    def __init__(
        self,
        directory_path: str | None = None,
        file_system_access_mode: str | None = "ro",
        file_system_id: str | None = None,
        file_system_type: str | None = None,
    ) -> None:
        super().__init__(
            directory_path=directory_path,
            file_system_access_mode=file_system_access_mode,
            file_system_id=file_system_id,
            file_system_type=file_system_type,
        )


class DatasetDefinition(_RequestObject):
    _nested: ClassVar[dict[str, type[_RequestObject]]] = {
        "redshift_dataset_definition": RedshiftDatasetDefinition,
        "athena_dataset_definition": AthenaDatasetDefinition,
        "file_system_dataset_definition": FileSystemDatasetDefinition,
    }

    def __init__(
        self,
        data_distribution_type: str = "ShardedByS3Key",
        input_mode: str = "File",
        local_path: str | None = None,
        redshift_dataset_definition: RedshiftDatasetDefinition | None = None,
        athena_dataset_definition: AthenaDatasetDefinition | None = None,
        file_system_dataset_definition: FileSystemDatasetDefinition | None = None,
    ) -> None:
        super().__init__(
            data_distribution_type=data_distribution_type,
            input_mode=input_mode,
            local_path=local_path,
            redshift_dataset_definition=redshift_dataset_definition,
            athena_dataset_definition=athena_dataset_definition,
            file_system_dataset_definition=file_system_dataset_definition,
        )


class S3Input(_RequestObject):
    s3_uri: str | None
    local_path: str | None
    s3_data_type: str | None
    s3_input_mode: str | None
    s3_data_distribution_type: str | None
    s3_compression_type: str | None

    def __init__(
        self,
        s3_uri: str | None = None,
        local_path: str | None = None,
        s3_data_type: str | None = "S3Prefix",
        s3_input_mode: str | None = "File",
        s3_data_distribution_type: str | None = "FullyReplicated",
        s3_compression_type: str | None = None,
    ) -> None:
        super().__init__(
            s3_uri=s3_uri,
            local_path=local_path,
            s3_data_type=s3_data_type,
            s3_input_mode=s3_input_mode,
            s3_data_distribution_type=s3_data_distribution_type,
            s3_compression_type=s3_compression_type,
        )
