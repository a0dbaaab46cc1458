"""FastAPI routers: thin handlers that validate, call a service, and map errors."""
