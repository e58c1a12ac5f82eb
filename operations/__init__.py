"""Domain operations: plain functions every edge (PC API, mini-program, bot, jobs, CLI) calls.

They take an `Actor` and plain values, enforce the rules (who may see what, state transitions,
dates), flush, and leave the commit to the edge.
"""
