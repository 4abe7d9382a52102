"""Component ids of the app shell. Page modules keep their own ids, prefixed with the page name."""

SHELL_PREFIX = "shell-"
URL = "shell-url"
CONTENT = "shell-content"
NAV = "shell-nav"
