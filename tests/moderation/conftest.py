"""Reuse the discussions world: a cohort with faculty `prof`, students ann, bob and cat."""

from tests.discussions.conftest import world  # noqa: F401
