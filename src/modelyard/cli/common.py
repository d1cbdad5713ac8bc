"""What every CLI command group shares: the API client, tables, JSON output, errors."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from modelyard.errors import ModelyardError
from modelyard.sdk.client import ApiClient

console = Console()
err_console = Console(stderr=True)

JSON_OPTION = typer.Option(False, "--json", help="Print machine-readable JSON instead of a table.")

T = TypeVar("T")


def client() -> ApiClient:
    """The client of the configured server, starting a local one if none answers."""
    from modelyard.sdk.session import Session

    return Session().client


def print_listing(
    rows: Sequence[dict[str, Any]], columns: Sequence[str], *, as_json: bool, title: str = ""
) -> None:
    """Rows as a Rich table, or as a JSON list for scripts (``--json``)."""
    if as_json:
        sys.stdout.write(json.dumps(list(rows), indent=2, default=str) + "\n")
        return
    table = Table(title=title or None)
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*("" if row.get(c) is None else str(row.get(c)) for c in columns))
    console.print(table)


def print_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, indent=2, default=str) + "\n")


@contextmanager
def cli_errors() -> Iterator[None]:
    """Turn a ModelyardError into one clear line on stderr and exit code 1."""
    try:
        yield
    except ModelyardError as exc:
        err_console.print(f"[bold red]error[/]: {exc}")
        raise typer.Exit(1) from exc


def handled(func: Callable[..., T]) -> Callable[..., T]:
    """Decorator form of :func:`cli_errors` for command functions."""
    import functools

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> T:
        with cli_errors():
            return func(*args, **kwargs)

    return wrapper
