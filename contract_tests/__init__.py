"""Schemathesis tests of openapi.yaml against a target (the local API by default)."""
