"""The edge controllers of one control-plane process, built and stopped together."""

from __future__ import annotations

from dataclasses import dataclass

from modelyard.catalog.base import Catalog
from modelyard.config import Settings
from modelyard.edge.compilation import CompilationController
from modelyard.edge.fleets import FleetController
from modelyard.edge.packaging import PackagingController
from modelyard.images.registry import ImageRegistry
from modelyard.runtime.base import Runtime
from modelyard.store.base import Store


@dataclass
class EdgeServices:
    compilation: CompilationController
    packaging: PackagingController
    fleets: FleetController

    @classmethod
    def build(
        cls,
        catalog: Catalog,
        store: Store,
        runtime: Runtime,
        images: ImageRegistry,
        settings: Settings,
    ) -> EdgeServices:
        return cls(
            compilation=CompilationController(catalog, store, runtime, images, settings),
            packaging=PackagingController(catalog, store, settings),
            fleets=FleetController(catalog, store, settings),
        )

    def reconcile(self) -> None:
        self.compilation.reconcile()
        self.packaging.reconcile()

    def shutdown(self) -> None:
        self.compilation.shutdown()
