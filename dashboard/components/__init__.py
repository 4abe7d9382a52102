"""Reusable view builders: map layers, the app shell, figure cards. They take plain data."""
