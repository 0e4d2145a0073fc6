"""fakevoipbin proxy: a checking proxy in front of the real API (or any server)."""
