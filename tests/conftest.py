"""Test-wide settings: no per-example time limit for hypothesis (CI machines are shared and
noisy; tests never assert a duration)."""

from hypothesis import settings

settings.register_profile("plainnet", deadline=None)
settings.load_profile("plainnet")
