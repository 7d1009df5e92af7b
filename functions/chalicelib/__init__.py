"""Chalice-side code: HTTP concerns only; use cases live in the `gridgate` layer."""
