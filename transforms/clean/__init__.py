"""Boilerplate: audited rules, the learned paragraph classifier and its features."""
