"""Connections to the services every room shares (Redis), and what is built directly on them.

Edges, channels and jobs all take Redis from `connections.redis`; nothing below the jobs reaches
up into jobs/ for it.
"""
