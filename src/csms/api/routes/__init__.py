"""Route modules; each exposes a ``*_router()`` factory so no router outlives its app."""
