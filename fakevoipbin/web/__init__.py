"""The HTTP face: an ASGI app over the core, driven by openapi.yaml."""

from .app import Application, build_app

__all__ = ["Application", "build_app"]
