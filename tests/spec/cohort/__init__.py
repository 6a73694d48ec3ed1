"""Cohort: who is offered proactive care in each neighbourhood.

Pins eligibility (3+ LTCs, moderate or severe frailty at 65+, or high HFRS, from the minimum
age), the exclusions and their fixed order, the cohort target (2.5 % of the neighbourhood,
round half up), the stable tie-break of the ranking, the neighbourhood level, the change since
the previous run and the columns of the list a care coordinator gets (clinical-definitions.md
§7.2-§7.4).
"""
