"""The ``modelyard`` command: server control, settings, and one group per resource."""

from __future__ import annotations

import typer
from pydantic import ValidationError as SettingsError

from modelyard import __version__
from modelyard.cli import (
    alarms,
    autoscaling,
    compilation_jobs,
    edge,
    endpoints,
    images,
    logs,
    models,
    processing_jobs,
    s3,
    training_jobs,
    transform_jobs,
)
from modelyard.cli.common import console, err_console, handled, print_json
from modelyard.config import Settings, get_settings

app = typer.Typer(
    name="modelyard",
    help="SageMaker's workflow on your own machines.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(s3.app, name="s3", help="The object store, like 'aws s3'.")
app.add_typer(images.app, name="images", help="The image registry: runnable environments.")
app.add_typer(training_jobs.app, name="training-jobs", help="Training jobs, as SageMaker's.")
app.add_typer(processing_jobs.app, name="processing-jobs", help="Processing jobs, as SageMaker's.")
app.add_typer(
    transform_jobs.app, name="transform-jobs", help="Batch transform jobs, as SageMaker's."
)
app.add_typer(logs.app, name="logs", help="The output of a job's containers.")
app.add_typer(
    compilation_jobs.app, name="compilation-jobs", help="Compile models to ONNX for edge targets."
)
app.add_typer(edge.app, name="edge", help="Edge packages, device fleets and deployments.")
app.add_typer(models.models_app, name="models", help="Models to deploy, as SageMaker's.")
app.add_typer(models.configs_app, name="endpoint-configs", help="Endpoint configs, as SageMaker's.")
app.add_typer(endpoints.app, name="endpoints", help="Real-time endpoints, as SageMaker's.")
app.add_typer(
    autoscaling.app, name="autoscaling", help="Endpoint autoscaling, as Application Auto Scaling's."
)
app.add_typer(alarms.app, name="alarms", help="Metric alarms on endpoints (rollback triggers).")
app.command("invoke")(endpoints.invoke)


def _settings() -> Settings:
    try:
        return get_settings()
    except SettingsError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'settings'}: {e['msg']}" for e in exc.errors()
        )
        err_console.print(f"[bold red]error[/]: invalid MODELYARD_* settings: {problems}")
        raise typer.Exit(2) from exc


@app.command()
def version() -> None:
    """Print modelyard's version."""
    console.print(__version__)


@app.command()
def config() -> None:
    """Print the effective settings (secrets masked)."""
    print_json(_settings().masked())


@app.command()
@handled
def server() -> None:
    """Run the control-plane server in the foreground."""
    from modelyard.api.server import serve

    serve(_settings())


@app.command()
@handled
def up() -> None:
    """Start the control-plane server of this home in the background."""
    from modelyard.api.server import start_background

    url = start_background(_settings())
    console.print(f"modelyard server up at {url}")


@app.command()
@handled
def down() -> None:
    """Stop the background server of this home."""
    from modelyard.api.server import stop_background

    if stop_background(_settings()):
        console.print("modelyard server stopped")
    else:
        console.print("no modelyard server was running for this home")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
