"""Versioned référentiels: one file per version of a certification (schema.py), loaded as a draft
version, previewed against the version in force, activated on a date (service.py)."""
