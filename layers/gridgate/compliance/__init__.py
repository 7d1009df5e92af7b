"""Compliance wing: consent records for faces, approvals of key-group tracking (issue 18).

The law the records answer to and the test of each rule: docs/privacy.md.
"""
