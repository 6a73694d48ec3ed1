"""Unit: the public-health statistics of the neighbourhood data packs (npc_risk.packs.methods).

Rules (respiratory-and-packs.md §9.2, §9.3, §9.5), each pinned with golden values beside it:

* Byar's and Wilson's limits reproduce the §9.2 golden table (PHEindicatormethods
  tests/testthat/testdata_Byars_Wilson.xlsx) to 6 significant figures.
* A count gets exact Poisson limits below 10 events and Byar's from 10; crude rates and ISRs are
  that count over the denominator or over E.
* A DSR is sum(x w / n) / sum(w) with Dobson limits, and is withheld below 10 events.
* Funnel lines and funnel-point labels reproduce PHEindicatormethods' own test data
  (tests/testthat/testdata_funnel_*.csv), copied below: sampled rows of each limits table,
  and the first rows of each significance table.
* The ESP 2013 has 19 bands summing to 100,000 and is read only through its manifest.

Not reproduced: the DSR and ISR golden values in testdata_DSR_ISR.xlsx (and the other .xlsx test
books) are binary workbooks that could not be read here; the DSR is checked against a worked
example by hand and against identities instead. PHEindicatormethods' 100-point funnel x axis
(signif.floor/ceiling spacing) is chart layout and is not reproduced; the limits are checked at
the table's own x values.
"""

from __future__ import annotations

import pytest

from npc_risk.manifest import check_manifest, packaged_folder
from npc_risk.packs.methods import (
    NOT_AVAILABLE,
    Estimate,
    byar_limits,
    count_limits,
    crude_rate,
    dsr,
    dsr_funnel_denominator,
    esp2013,
    esp_band,
    exact_poisson_limits,
    excess_events,
    expected_events,
    funnel_significance,
    isr,
    pooled,
    proportion_funnel,
    rate_funnel,
    ratio_funnel,
    significance,
    wilson,
    z,
)

CONFIDENCE = {"95%": 0.95, "99.8%": 0.998}
LABEL = {"H1": "High (0.001)", "H2": "High (0.025)", "L1": "Low (0.001)", "L2": "Low (0.025)",
         "NS": "Not significant", "--": "not compared"}


def rows(text: str) -> list[list[str]]:
    return [line.split(",") for line in text.strip().splitlines()]


def pairs(values: list[float]) -> list[tuple[float, float]]:
    """(x, y), (x, y), ... from a flat row x, y, x, y, ..."""
    return list(zip(values[::2], values[1::2], strict=True))


# ------------------------------------------------------------------------------- §9.2 golden
GOLDEN_9_2 = """
byar,x=65,95%,50.163188,82.849139
byar,x=1045,95%,982.593202,1110.331213
byar,x=1,95%,0.013072,5.563756
byar,x=65,99.8%,42.880261,94.000291
byar,x=10,99.8%,2.916318,24.193725
wilson,65/100,95%,0.552544,0.736358
wilson,1045/5000,95%,0.197955,0.220491
wilson,65/100,99.8%,0.495495,0.778354
"""


@pytest.mark.parametrize("statistic,given,level,lower,upper", rows(GOLDEN_9_2))
def test_byar_and_wilson_reproduce_the_golden_table(statistic, given, level, lower, upper):
    confidence = CONFIDENCE[level]
    if statistic == "byar":
        got = byar_limits(int(given.removeprefix("x=")), confidence)
    else:
        x, n = map(int, given.split("/"))
        estimate = wilson(x, n, multiplier=1, confidence=confidence)
        got = (estimate.lower, estimate.upper)
    # the golden values carry 6 decimals: 6 significant figures or better
    assert got == (pytest.approx(float(lower), rel=1e-6, abs=5e-7), pytest.approx(float(upper), rel=1e-6, abs=5e-7))


def test_z_is_the_two_sided_normal_quantile():
    assert z(0.95) == pytest.approx(1.959964, abs=1e-6)
    assert z(0.998) == pytest.approx(3.090232, abs=1e-6)
    with pytest.raises(ValueError, match="fraction"):
        z(95)


# ------------------------------------------------------------------------------ count limits
def test_exact_limits_below_10_events_byar_from_10():
    """9 events: exact chi-squared limits 4.115374-17.084803 (PHE's funnel table, row 9);
    10 events: Byar's lower limit 4.787450, not the exact 4.795388."""
    assert count_limits(9) == exact_poisson_limits(9)
    assert exact_poisson_limits(9) == (pytest.approx(4.11537405, rel=1e-6), pytest.approx(17.08479966, rel=1e-6))
    assert count_limits(10) == byar_limits(10)
    assert count_limits(10)[0] == pytest.approx(4.787450, abs=1e-6)  # 10 (1 - 1/90 - 1.959964/(3 sqrt 10))^3
    assert exact_poisson_limits(10)[0] == pytest.approx(4.795387629, rel=1e-6)


def test_zero_events():
    """0 events: lower limit 0; exact upper -ln(0.025) = 3.688879 at 95 %."""
    assert exact_poisson_limits(0) == (0.0, pytest.approx(3.688879, rel=1e-6))
    assert byar_limits(0)[0] == 0.0
    assert crude_rate(0, 1000) == Estimate(0.0, 0.0, pytest.approx(3.688879, rel=1e-6))


def test_byar_lower_limit_is_never_negative():
    """1 event at 99.8 %: the cube goes negative (PHE returns NA); the limit is 0."""
    assert byar_limits(1, 0.998)[0] == 0.0


def test_crude_rate_is_the_count_over_the_denominator():
    """125 events in 5,000 person-years: 25 per 1,000, Byar's limits / 5,000 * 1,000."""
    low, high = byar_limits(125)
    assert crude_rate(125, 5000) == Estimate(25.0, pytest.approx(low / 5), pytest.approx(high / 5))
    assert crude_rate(3, 0) == NOT_AVAILABLE
    with pytest.raises(ValueError):
        crude_rate(-1, 10)


def test_wilson_at_the_ends_and_undefined():
    assert wilson(0, 50).lower == 0.0
    assert wilson(50, 50).upper == 100.0
    assert wilson(0, 0) == NOT_AVAILABLE
    with pytest.raises(ValueError, match="x <= n"):
        wilson(6, 5)


# ---------------------------------------------------------------------------------------- DSR
def test_dsr_worked_example():
    """Three bands (x events, n population, w weight):

        (4, 1000, 5000)  w/n = 5   x w/n = 20    x (w/n)^2 = 100
        (10, 2000, 6000) w/n = 3   x w/n = 30    x (w/n)^2 = 90
        (20, 500, 4000)  w/n = 8   x w/n = 160   x (w/n)^2 = 1280
        sum w = 15000, O = 34      sum = 210     sum = 1470

    DSR = 210 / 15000 * 100,000 = 1400.
    sqrt(var / O) * 100,000 = sqrt(1470 / 15000^2 / 34) * 100,000 = 43.835700
    Byar(34) at 95 %: 34 (1 - 1/306 - 1.959964/(3 sqrt 34))^3 = 23.542351,
                      35 (1 - 1/315 + 1.959964/(3 sqrt 35))^3 = 47.513079
    lower = 1400 + 43.835700 * (23.542351 - 34) = 941.58163
    upper = 1400 + 43.835700 * (47.513079 - 34) = 1992.3553
    """
    got = dsr([(4, 1000, 5000), (10, 2000, 6000), (20, 500, 4000)])
    assert got == Estimate(pytest.approx(1400.0), pytest.approx(941.58163, rel=1e-6),
                           pytest.approx(1992.3553, rel=1e-6))


def test_dsr_withheld_under_10_events():
    """§9.2, §9.5: no DSR on fewer than 10 events; 10 events is enough."""
    assert dsr([(4, 1000, 5000), (5, 2000, 6000)]) == NOT_AVAILABLE
    assert dsr([(4, 1000, 5000), (6, 2000, 6000)]).value == pytest.approx((4 * 5 + 6 * 3) / 11_000 * 100_000)


def test_dsr_of_a_flat_rate_is_that_rate():
    """The same rate (1 per 10,000) in every ESP band standardises to itself: 10 per 100,000."""
    got = dsr([(band.weight / 100, band.weight * 100, band.weight) for band in esp2013()])
    assert got.value == pytest.approx(10.0)
    assert got.lower < 10.0 < got.upper


def test_dsr_of_one_band_is_the_crude_rate_with_byar_limits():
    """Dobson with one band: sqrt(var/O) = 1/n, so the limits are Byar(O)/n."""
    one_band, crude = dsr([(25, 5000, 7000)], multiplier=1000), crude_rate(25, 5000)
    assert (one_band.value, one_band.lower, one_band.upper) == pytest.approx((crude.value, crude.lower, crude.upper))


def test_dsr_band_with_no_population_counts_as_rate_0_and_events_there_raise():
    assert dsr([(10, 1000, 1000), (0, 0, 1000)]).value == pytest.approx(500.0)  # half the weight at rate 0
    with pytest.raises(ValueError, match="population 0"):
        dsr([(10, 1000, 1000), (3, 0, 1000)])


# ---------------------------------------------------------------------------------------- ISR
def test_isr_exact_below_10_events():
    """9 observed, 4.5 expected: SAR 200, exact limits 4.115374/4.5 and 17.084800/4.5 (* 100)."""
    assert isr(9, 4.5) == Estimate(pytest.approx(200.0), pytest.approx(91.452757, rel=1e-6),
                                   pytest.approx(379.66221, rel=1e-6))


def test_isr_byar_from_10_events():
    """10 observed, 5 expected, 99.8 %: Byar(10) = 2.916318-24.193725 (§9.2 golden) / 5 * 100."""
    assert isr(10, 5, confidence=0.998) == Estimate(pytest.approx(200.0), pytest.approx(58.32636, rel=1e-6),
                                                    pytest.approx(483.8745, rel=1e-6))


def test_expected_and_excess_events():
    """E = 0.01 * 100 + 0.02 * 50 = 2; O - E = 5 - 2 = 3."""
    expected = expected_events({"0-4": 0.01, "5-9": 0.02, "10-14": 0.5}, {"0-4": 100, "5-9": 50})
    assert expected == pytest.approx(2.0)
    assert excess_events(5, expected) == pytest.approx(3.0)
    assert isr(5, expected).value == pytest.approx(250.0)
    assert isr(5, 0) == NOT_AVAILABLE
    with pytest.raises(ValueError, match="no reference rate"):
        expected_events({"0-4": 0.01}, {"0-4": 100, "90+": 3})


# ------------------------------------------------------------------------------- significance
@pytest.mark.parametrize("estimate,expected", [
    (Estimate(120, 110, 130), "higher"),
    (Estimate(80, 70, 90), "lower"),
    (Estimate(100, 90, 110), "similar"),
    (Estimate(110, 100, 120), "similar"),  # an end on the comparator: included
    (NOT_AVAILABLE, "not compared"),
])
def test_significance_against_100(estimate, expected):
    assert significance(estimate, 100) == expected


# -------------------------------------------------------- PHEindicatormethods funnel test data
def phe_rel(count: float, expected: float) -> float:
    """PHE's poisson_funnel (R/utils.R) finds E = (1 + O) v / (1 - v) by bisecting v in (0, 1)
    until the step is below 1e-7, so its E, and every value computed from it, carries a relative
    error up to about 1e-7 / (v (1 - v)): ~4e-7 for most rows, 2e-4 at the smallest E. The exact
    values agree with it to that precision on every row below."""
    v = expected / (1 + count + expected)
    return 1e-7 / (v * (1 - v))


# testdata_funnel_prop_outputs.csv (sampled rows): Population, 95 % lower, upper, 99.8 % lower,
# upper, in %, around the pooled proportion 80.642448 % of testdata_funnel_prop_inputs.csv.
PROPORTION_FUNNEL = """
1,3.204264,100,0,100
2,25.885383,100,0,100
3,35.933491,100,10.150815,100
4,41.923356,100,19.594903,100
18,62.390093,98.894803,51.864359,100
41,68.548635,92.73626,61.574398,99.710497
102,72.974925,88.309971,68.553233,92.731663
1008,78.203374,83.081521,76.796814,84.488082
9998,79.867989,81.416907,79.421375,81.863521
110000,80.408963,80.875933,80.274317,81.010578
"""


@pytest.mark.parametrize("row", rows(PROPORTION_FUNNEL))
def test_proportion_funnel_reproduces_phe(row):
    n, low95, high95, low998, high998 = map(float, row)
    # the table carries 6 decimals (and the baseline 8 figures): agree to 1e-6 percentage points
    assert proportion_funnel(0.80642448, n) == (pytest.approx(low95, abs=1e-6), pytest.approx(high95, abs=1e-6))
    assert proportion_funnel(0.80642448, n, confidence=0.998) == (pytest.approx(low998, abs=1e-6),
                                                                   pytest.approx(high998, abs=1e-6))


# testdata_funnel_ratio_outputs.csv (sampled rows, the "isr" columns): Observed_events, then per
# line (95 % lower, 95 % upper, 99.8 % lower, 99.8 % upper) the expected count E and the limit.
RATIO_FUNNEL = """
1,5.571644585,17.94802207,0.025317898,3949.774946,9.233410143,10.83023482,0.001000547,99945.32721
2,7.224687515,27.6828582,0.242209467,825.7315569,11.22886836,17.81123382,0.04540199,4405.093268
3,8.767273828,34.21816244,0.618671905,484.9096876,13.06224507,22.96695541,0.190533306,1574.52787
9,17.08479966,52.67840524,4.11537405,218.6921502,22.65737951,39.72215762,2.452425215,366.9836676
10,18.39035799,54.3763205,4.795387629,208.5337156,24.13397235,41.43536693,2.960519925,337.778507
33,46.34427966,71.206199,22.71567629,145.2741252,54.89565059,60.11405211,18.04631223,182.8628453
100,121.6268111,82.21871402,81.36400699,122.9044681,134.9243187,74.11562345,71.92139974,139.0406755
299,334.8845596,89.28449862,266.0659681,112.3781452,356.3855169,83.89790994,248.400663,120.3700491
716,770.4222128,92.93605352,664.5083011,107.7488421,802.60414,89.20960712,636.1521174,112.5516964
"""
LINES = ((0.95, 1, 0), (0.95, 0, 1), (0.998, 1, 0), (0.998, 0, 1))  # (confidence, limit of O, funnel side)


@pytest.mark.parametrize("row", rows(RATIO_FUNNEL))
def test_ratio_funnel_reproduces_phe(row):
    """Each line passes through (E, O/E): the lower line where O's upper exact limit is E, the
    upper line where O's lower exact limit is E. PHE's E and limits agree with the exact ones to
    its bisection's precision."""
    count, *values = map(float, row)
    for (confidence, limit, side), (phe_expected, phe_limit) in zip(LINES, pairs(values), strict=True):
        expected = exact_poisson_limits(count, confidence)[limit]
        tolerance = phe_rel(count, expected)
        assert expected == pytest.approx(phe_expected, rel=tolerance)
        line = ratio_funnel(expected, confidence=confidence)[side]
        assert line == pytest.approx(count / expected * 100, rel=1e-9)
        assert line == pytest.approx(phe_limit, rel=tolerance)


# testdata_funnel_rate_outputs.csv (sampled rows): Events, then per line the population per year
# and the DSR limit per 100,000, for the 50 areas of testdata_funnel_rate_input_funnels.csv over
# 3 years (years_of_data = 3).
RATE_FUNNEL = """
1,1598.675694,20.85059119,7.264481402,4588.535848,2649.348525,12.58170943,0.287087625,116108.569
2,2072.984403,32.15975314,69.49732367,959.2695538,3221.906682,20.69168143,13.02722321,5117.48863
10,5276.757672,63.17010446,1375.943768,242.2579623,6924.776769,48.13632908,849.4639547,392.4043292
104,36157.10817,95.87787415,24382.08903,142.1808715,40036.31685,86.58805154,21608.75072,160.4288333
1360,411529.9259,110.158048,369759.5622,122.6021934,424043.2424,106.9073359,358342.3275,126.5084525
"""
RATE_INPUT_EVENTS = [414, 462, 178, 525, 194, 937, 817, 117, 298, 228, 243, 13, 373, 664, 601, 602, 767, 708, 90,
                     952, 347, 648, 988, 354, 839, 25, 518, 425, 648, 765, 210, 931, 589, 592, 554, 870, 372, 843,
                     142, 543, 489, 620, 774, 904, 936, 841, 22, 922, 955, 308]
RATE_INPUT_DSRS = [184, 102, 83, 118, 121, 125, 112, 190, 146, 140, 87, 70, 90, 139, 109, 65, 165, 143, 55, 135,
                   135, 88, 167, 99, 83, 53, 62, 118, 176, 101, 71, 138, 74, 84, 161, 79, 189, 170, 159, 113, 191,
                   116, 200, 171, 128, 134, 185, 100, 123, 155]


def rate_funnel_centre() -> float:
    denominators = [dsr_funnel_denominator(x, rate) for x, rate in zip(RATE_INPUT_EVENTS, RATE_INPUT_DSRS, strict=True)]
    return pooled(RATE_INPUT_EVENTS, denominators)


def test_rate_funnel_centre_is_the_pooled_rate_of_the_derived_denominators():
    """PHE's baseline for these DSRs: 116.1720835 per 100,000."""
    assert rate_funnel_centre() * 100_000 == pytest.approx(116.1720835, rel=1e-9)


@pytest.mark.parametrize("row", rows(RATE_FUNNEL))
def test_rate_funnel_reproduces_phe(row):
    """The population on each line is E / pooled rate, E the exact limit of the count; the rate
    there is count / population."""
    count, *values = map(float, row)
    centre = rate_funnel_centre()
    for (confidence, limit, side), (per_year, phe_limit) in zip(LINES, pairs(values), strict=True):
        expected = exact_poisson_limits(count, confidence)[limit]
        tolerance = phe_rel(count, expected)
        population = expected / centre
        assert population / 3 == pytest.approx(per_year, rel=tolerance)
        line = rate_funnel(centre, population, confidence=confidence, multiplier=100_000)[side]
        assert line == pytest.approx(count / population * 100_000, rel=1e-9)
        assert line == pytest.approx(phe_limit, rel=tolerance)


# testdata_funnel_prop_inputs.csv (the first 16 rows and three at the 95 % level): numerator,
# denominator, PHE's label against the pooled 80.642448 %.
PROPORTION_POINTS = """
35078.4880000,41980,H1
24803.6256000,31824,L1
50050.7443000,61921,NS
48686.4364000,59804,H1
35795.6324000,45449,L1
66969.6742000,80002,H1
48514.4460000,64755,L1
70670.2858000,93122,L1
26029.3176000,33708,L1
22506.3828000,25932,H1
20619.5552000,25852,L1
19847.1920000,23684,H1
23617.7778000,28954,H1
21121.0160000,27530,L1
30294.3882000,41066,L1
24648.7596000,30521,NS
26789.2380000,33012,H2
36850.0492000,45449,H2
30277.5312000,37828,L2
"""


@pytest.mark.parametrize("row", rows(PROPORTION_POINTS))
def test_proportion_point_labels_reproduce_phe(row):
    """Outside the proportion funnel = the Wilson interval excludes the pooled proportion."""
    x, n, label = float(row[0]), float(row[1]), LABEL[row[2]]
    got = funnel_significance(wilson(x, n, multiplier=1), wilson(x, n, multiplier=1, confidence=0.998), 0.80642448)
    assert got == label


# testdata_funnel_ratio_inputs.csv (the first 40 rows and the other row under 10 events):
# observed, expected, PHE's label against a ratio of 1.
RATIO_POINTS = """
8,6.239860227,NS
151,106.4429719,H1
159,232.9329036,L1
191,184.0963855,NS
124,183.894409,L1
220,249.8012944,NS
150,119.5695496,H2
0,240.6273499,L1
182,196.799308,NS
151,204.6070461,L1
206,139.4719025,H1
141,106.7211626,H1
113,96.14566494,NS
129,127.9000595,NS
121,162.3289509,L1
190,202.1491648,NS
187,181.3773036,NS
136,141.2693466,NS
150,100.6778978,H1
75,120.1923077,L1
92,102.6098595,NS
182,136.0137508,H1
182,143.6804295,H2
101,126.2973615,L2
169,125.1573724,H1
124,176.764077,L1
107,125.1461988,NS
174,141.4404162,H2
98,134.6338783,L1
160,97.12273886,H1
141,136.9596892,NS
174,143.4578283,H2
119,140.9618574,NS
252,218.7689904,H2
203,154.185022,H1
507,272.3024867,H1
230,176.6920181,H1
250,164.4628643,H1
321,178.7902417,H1
254,254.4070513,NS
6,4.293052052,NS
"""


@pytest.mark.parametrize("row", rows(RATIO_POINTS))
def test_ratio_point_labels_reproduce_phe(row):
    observed, expected, label = float(row[0]), float(row[1]), LABEL[row[2]]
    got = funnel_significance(isr(observed, expected), isr(observed, expected, confidence=0.998), 100)
    assert got == label


# testdata_funnel_rate_dsr_inputs.csv (every row): count, DSR per 100,000, population, and PHE's
# labels for the DSR ("dsr_per_100000_with_0") and for the crude rate count/population with the
# 0-event area ("crude_per_100000_with_0") and without it ("..._without_0"; "--" = left out).
RATE_POINTS = """
2419,907.6174266,264102,H1,H1,H1
2337,948.5620216,259711,H1,H1,H1
2291,799.9690496,289247,H1,H1,H1
2242,852.5637927,265029,H1,H1,H1
2218,868.5358183,284649,H1,H1,H1
2159,769.6242217,293578,H1,H1,H1
2130,752.3254955,286718,H2,H1,H1
2111,710.2689402,307381,NS,NS,NS
2105,815.3530325,274145,H1,H1,H1
2083,717.7035916,297424,NS,H2,NS
2078,755.8016993,272628,H1,H1,H1
2062,825.9742848,269656,H1,H1,H1
2061,702.2972468,294692,NS,H2,NS
2033,785.6210132,277710,H1,H1,H2
2033,743.6763018,259213,H2,H1,H1
2010,781.8323058,285516,H1,H2,NS
2004,772.6781064,269449,H1,H1,H1
2002,652.3391553,290888,L1,NS,NS
1977,648.4969973,287112,L1,NS,NS
1944,727.5777428,286492,NS,NS,NS
1932,625.6551186,287012,L1,NS,NS
1922,688.5582424,291277,NS,NS,NS
1912,662.4465438,289859,L2,NS,NS
1881,627.1624732,289653,L1,NS,L2
1844,657.1114147,282519,L2,NS,L2
1835,724.8456714,274220,NS,NS,NS
1833,659.7820553,280271,L2,NS,L2
1825,654.7053631,284206,L1,NS,L2
1816,624.4435507,274508,L1,NS,NS
1809,646.7588823,288384,L1,L2,L1
1798,703.1689982,287072,NS,L2,L1
1754,567.9922764,282744,L1,L1,L1
1746,617.7750715,289208,L1,L1,L1
1709,610.8327232,287736,L1,L1,L1
1694,608.5089462,296175,L1,L1,L1
1688,662.3775859,303255,L2,L1,L1
1649,667.6454503,285959,L2,L1,L1
1553,604.1141693,274661,L1,L1,L1
1332,469.5645784,281425,L1,L1,L1
0,NA,297820,--,L1,--
"""


def test_rate_point_labels_reproduce_phe():
    """A DSR point is a crude rate over its derived population (O * 100,000 / DSR), compared with
    the pooled rate of those populations; under 10 events it is not compared. A crude rate is
    compared with the pooled rate of all areas (with or without the area of 0 events)."""
    table = rows(RATE_POINTS)
    counts = [float(r[0]) for r in table]
    dsrs = [None if r[1] == "NA" else float(r[1]) for r in table]
    derived = [dsr_funnel_denominator(c, rate) for c, rate in zip(counts, dsrs, strict=True)]
    dsr_centre = pooled(counts, [d for d in derived if d is not None])
    with_0 = pooled(counts, [float(r[2]) for r in table])
    without_0 = pooled([c for c in counts if c], [float(r[2]) for r, c in zip(table, counts, strict=True) if c])

    def label(count: float, denominator: float | None, centre: float) -> str:
        if denominator is None:
            return "not compared"
        return funnel_significance(crude_rate(count, denominator, multiplier=1),
                                   crude_rate(count, denominator, multiplier=1, confidence=0.998), centre)

    for count, population, row in zip(counts, derived, table, strict=True):
        assert label(count, population, dsr_centre) == LABEL[row[3]], row
        assert label(count, float(row[2]), with_0) == LABEL[row[4]], row
        if count:
            assert label(count, float(row[2]), without_0) == LABEL[row[5]], row


def test_funnel_lines_below_which_no_count_is_low():
    """E at most -ln(0.025) = 3.69: even 0 events lie inside, so the lower ratio line is 0."""
    assert ratio_funnel(3.5)[0] == 0.0
    assert ratio_funnel(3.8)[0] > 0.0
    assert dsr_funnel_denominator(9, 120.0) is None
    with pytest.raises(ValueError):
        ratio_funnel(0)


# ----------------------------------------------------------------------------------- ESP 2013
def test_esp2013_has_19_bands_totalling_100000_and_passes_its_manifest():
    bands = esp2013()
    assert len(bands) == 19
    assert sum(band.weight for band in bands) == 100_000
    assert [band.lower_age for band in bands] == list(range(0, 95, 5))
    assert (bands[0].age_band, bands[0].weight, bands[-1].age_band, bands[-1].weight) == ("0-4", 5000, "90+", 1000)
    assert check_manifest(packaged_folder("packs"))[1] == []


@pytest.mark.parametrize("age,band", [(0, "0-4"), (4, "0-4"), (5, "5-9"), (89, "85-89"), (90, "90+"), (104, "90+")])
def test_esp_band_edges(age, band):
    assert esp_band(age) == band


def test_esp_band_rejects_a_negative_age():
    with pytest.raises(ValueError):
        esp_band(-1)
