"""Tests of fakevoipbin/web/: the pipeline, the frame, the control API, the renderer,
faults on the wire."""
