"""Residents: who has which right at which home (grants, visitor passes, ownership, rights,
resident codes, face enrolment) and the gallery-version bump every such change makes.
"""
