"""Community Camera Registry: a voluntary register of private cameras and its analytic dashboard."""
