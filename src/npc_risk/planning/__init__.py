"""The planning output (`neighbourhoods.parquet`) and the disclosure control every published
aggregate passes.

* `statistics`: unrounded counts and rates per neighbourhood, LCP and the city (internal), and
  `publishable_neighbourhoods`, the only form that leaves the process;
* `disclosure`: the one suppression rule (0 stays 0, 1-7 withheld, >= 8 to the nearest 5), rates
  from unrounded values, and the differencing guard (complementary suppression).
"""
