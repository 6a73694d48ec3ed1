"""Neighbourhood data packs (issue 12): methods.py holds the public-health statistics (crude rates,
proportions, directly and indirectly standardised rates, funnel limits and significance against a
comparator, respiratory-and-packs.md §9.2), reproduced from PHEindicatormethods and checked against
its published test data; the European Standard Population 2013 they standardise to is packaged
data under `npc_risk/data/packs/`.
"""
