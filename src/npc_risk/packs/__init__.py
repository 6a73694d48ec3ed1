"""Neighbourhood data packs (`npc-risk pack`, issue 12), one-way from the published run to pages:

* `indicators.py`: what is measured, and the engine queries that count strata of the run's
  planning population (the only place a pack reads person rows, inside the engine);
* `methods.py`: the public-health statistics (crude rates, Wilson proportions, DSR with Dobson
  limits, ISR, funnel limits, significance; respiratory-and-packs.md §9.2), checked against
  PHEindicatormethods' published test data; the ESP 2013 is packaged data under `data/packs/`;
* `figures.py`: every figure of every area as one tidy table, through the one disclosure rule;
* `focus.py`: "where to focus" (significantly high ratios to expected, ranked);
* `charts.py`: matplotlib to inline SVG; `pages.py`: one page's content; `templates/`: Jinja2;
* `build.py`: the command (read the run, write pages, index, tidy data); `pdf.py`: Chromium print.
"""
