"""Fakes of the host APIs (nuke, Fusion) and of the worker, for plugin tests."""
