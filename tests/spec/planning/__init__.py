"""Planning: what the published neighbourhood figures (neighbourhoods.parquet) may show.

Pins small-number suppression (0 stays 0, 1-7 withheld, else to the nearest 5; rates from
unrounded values) and the differencing guard (nhs-data-conventions.md §7); the national data
opt-out and the opt-out rules per output class (nhs-data-conventions.md §8,
clinical-definitions.md §7.4); and the neighbourhood statistics with their LCP and city totals
(concentration in the top 5 % by risk, totals from unrounded data).
"""
