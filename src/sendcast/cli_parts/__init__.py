"""CLI command groups. Each module defines ``register(app: typer.Typer) -> None``."""
