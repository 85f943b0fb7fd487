"""Helpers that know nothing about Django."""
