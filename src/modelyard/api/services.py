"""The backends one control-plane process works with, built once from settings.

Routes receive them through :func:`modelyard.api.deps.services`; nothing in
``api/`` builds a backend itself, so tests can hand the app other instances.
"""

from __future__ import annotations

from dataclasses import dataclass

from modelyard.catalog import SqlCatalog, open_catalog
from modelyard.config import Settings
from modelyard.edge.services import EdgeServices
from modelyard.hosting.endpoints import EndpointController
from modelyard.images.builder import VenvBuilder
from modelyard.images.registry import ImageRegistry
from modelyard.jobs.processing import ProcessingController
from modelyard.jobs.training import TrainingController
from modelyard.jobs.transform import TransformController
from modelyard.runtime import Runtime, get_runtime
from modelyard.store import Store, get_store


@dataclass
class Services:
    settings: Settings
    store: Store
    catalog: SqlCatalog
    runtime: Runtime
    images: ImageRegistry
    training: TrainingController
    edge: EdgeServices
    processing: ProcessingController
    endpoints: EndpointController
    transform: TransformController

    def close(self) -> None:
        self.endpoints.shutdown()
        self.training.shutdown()
        self.processing.shutdown()
        self.transform.shutdown()
        self.edge.shutdown()
        self.catalog.close()
        self.store.close()


def build_services(settings: Settings) -> Services:
    """Every backend the settings name, ready to serve (catalog migrated)."""
    settings.home.mkdir(parents=True, exist_ok=True)
    store = get_store(settings)
    catalog = open_catalog(settings)
    runtime = get_runtime(settings)
    images = ImageRegistry(catalog, runtime, VenvBuilder(settings.images_dir), settings)
    training = TrainingController(catalog, store, runtime, images, settings)
    processing = ProcessingController(catalog, store, runtime, images, settings)
    return Services(
        settings=settings,
        store=store,
        catalog=catalog,
        runtime=runtime,
        images=images,
        training=training,
        edge=EdgeServices.build(catalog, store, runtime, images, settings),
        processing=processing,
        endpoints=EndpointController(catalog, store, runtime, images, settings),
        transform=TransformController(catalog, store, runtime, images, settings),
    )
