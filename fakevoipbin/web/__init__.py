"""The HTTP face: one Starlette application over the core, driven by openapi.yaml
(``web/app.py``), with production's check order in ``web/pipeline.py``."""
