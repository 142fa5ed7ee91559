"""Discussions: positions, claims, rebuttals, revisions and stances."""
