"""FastAPI application: authentication, role checks, routers per process. Thin over the services."""
