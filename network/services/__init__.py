"""Writes and actions of the network app (STYLE.md: services). Import from the submodules."""
