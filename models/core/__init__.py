"""Vocabulary every other package shares and that needs no database: the clock, domain
errors, compare-and-set transitions, human ids and the clinical record types."""
