"""Talking to a running service over HTTP: the typed client (``http``) and ``submit`` of a jobs
file with its results fetched into a folder."""
