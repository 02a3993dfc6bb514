"""Domain of the CQP certifier: models, state machines and services.

No FastAPI and no Prefect imports in this package (dependencies point inward).
"""
