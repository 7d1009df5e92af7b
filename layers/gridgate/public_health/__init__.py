"""Public-health wing: the epidemic flow queries of paper §3.3.1, each use approved, scoped, audited.

The law each rule answers to and its test: docs/privacy.md ("Paper §3.3.1").
"""
