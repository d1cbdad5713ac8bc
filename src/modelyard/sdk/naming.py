"""sagemaker's rules for default names: a base from an image, a base back from a name.

Jobs, models and endpoints are named ``<base>-<timestamp>``
(:func:`modelyard.ids.unique_name_from_base`); estimators, processors, models and
pipelines derive the base alike, as sagemaker's ``utils`` do.
"""

from __future__ import annotations

import re


def base_name_from_image(image: str, default: str) -> str:
    """``sklearn`` from ``sklearn:1.5`` (the repository's name), else ``default``."""
    repository = image.rsplit("/", 1)[-1].split(":", 1)[0]
    cleaned = re.sub(r"[^A-Za-z0-9-]+", "-", repository).strip("-")
    return cleaned or default


def base_from_name(name: str) -> str:
    """``sklearn`` from ``sklearn-2024-01-01-00-00-00-000`` (sagemaker's ``base_from_name``)."""
    match = re.match(r"^(.+)-\d{4}-\d{2}-\d{2}-\d{2}-\d{2}-\d{2}-\d{3}", name)
    return match.group(1) if match else name
