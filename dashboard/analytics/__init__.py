"""Metrics as pure functions of data frames. No Dash imports here."""
