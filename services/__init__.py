"""The messaging services: one package per logical unit (construct plus runtime code)."""
