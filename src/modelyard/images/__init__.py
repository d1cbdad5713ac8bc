"""The container registry: named, versioned runnable environments (``name:tag``).

``ImageSpec`` says what an image holds, ``VenvBuilder`` builds it once per spec
hash into the machine's image cache, ``ImageRegistry`` keeps images in the
catalog and builds them through the Runtime; ``frameworks`` maps SageMaker's
framework versions (``sklearn 1.2-1``) to pinned packages.
"""

from modelyard.images.base import ImageBuilder
from modelyard.images.builder import VenvBuilder
from modelyard.images.frameworks import FrameworkVersion, buildable_versions, resolve
from modelyard.images.registry import ImageRegistry, catalog_name, status_of
from modelyard.images.spec import ImageSpec, parse_name_tag

__all__ = [
    "FrameworkVersion",
    "ImageBuilder",
    "ImageRegistry",
    "ImageSpec",
    "VenvBuilder",
    "buildable_versions",
    "catalog_name",
    "parse_name_tag",
    "resolve",
    "status_of",
]
