"""Analysis and the write-up: tables of a study's results, figures, and the report.

Nothing here runs a simulation: it reads the tables that :mod:`labkit.experiments` wrote.
"""
