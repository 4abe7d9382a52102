"""Reports built for people to read, forward and print (the project lead's weekly report)."""
