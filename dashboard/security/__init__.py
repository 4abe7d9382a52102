"""Accounts, login, roles and the audit log. No Dash imports here."""
