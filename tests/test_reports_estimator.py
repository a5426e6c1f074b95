"""The design-weighted estimator against R's survey package, on a worked example
(tests/r/outcomes_example.csv): a domain across strata, a domain filter, missing values, a
stratum with one respondent, a stratum with r_h = N_h, shares of 0 and a rare flag.

The figures below are R's (tests/r/outcomes_example.R), pinned: ours must match them to 1e-9
(a share's interval: svyciprop's "xlogit", the README's formula; its "logit", the same interval
from a fitted glm, agrees to its convergence tolerance, checked to 1e-7).
When `Rscript` with the survey package is installed (`make test` installs it), R is run again
and must still print them."""
from __future__ import annotations

import csv
import shutil
import subprocess
from pathlib import Path

import pytest

from monitor.extensions import db
from monitor.reports.aggregates import Stratum
from monitor.reports.estimator import Sums, degrees_of_freedom, estimate, t_quantile
from monitor.reports.filters import ReportFilter
from monitor.reports.tables import outcomes
from tests.reports_helpers import add_case, add_stratum

HERE = Path(__file__).parent / "r"
DATA = HERE / "outcomes_example.csv"
TOLERANCE = 1e-9
VARIABLES = {"economic": "economic", "composite": "composite", "no_shelter": "no_shelter",
             "feels_unsafe": "feels_unsafe", "rely": "has_someone_to_rely_on"}

# Rscript tests/r/outcomes_example.R tests/r/outcomes_example.csv
R_FIGURES = """\
all,economic,17,0.54083333333333328,0.056374143370463342,0.41800462649626802,0.66366204017039854,0.41800462649626802,0.66366204017039854
all,composite,14,0.53292623941958894,0.040187593031664436,0.44536499612875313,0.62048748271042475,0.44536499612875313,0.62048748271042475
all,no_shelter,16,0.28495762711864409,0.12338212916812084,0.09627193914221778,0.59853123759043048,0.096271939142893448,0.59853123759104387
all,feels_unsafe,15,0.064479638009049781,0.058245061198756623,0.0083380959297907967,0.36101545190533962,0.0083380959301326534,0.36101545190269213
all,rely,15,0.6821266968325792,0.12980501631957247,0.36800570352297363,0.88774455325594515,0.36800570352290346,0.88774455325587398
country:GE,economic,10,0.55861111111111117,0.071934757414177181,0.40187873875810215,0.71534348346412013,0.40187873875810215,0.71534348346412013
country:AM,economic,4,0.46769230769230768,0.020208638301667744,0.42366146729052945,0.51172314809408592,0.42366146729052945,0.51172314809408592
country:IQ,economic,3,0.53666666666666674,0.15251957979952024,0.20435504942401739,0.86897828390931608,0.20435504942401739,0.86897828390931608
country:GE,composite,8,0.5431034482758621,0.049723922372526569,0.4347643282692239,0.65144256828250036,0.4347643282692239,0.65144256828250036
country:AM,composite,4,0.50307692307692309,0.0095429680868986747,0.48228458177608335,0.52386926437776282,0.48228458177608335,0.52386926437776282
country:IQ,composite,2,0.52500000000000002,0.15104635050208925,0.19589827365163492,0.85410172634836512,0.19589827365163492,0.85410172634836512
country:GE,no_shelter,9,0.34375,0.16102091284985315,0.099585264734790055,0.71271091895246486,0.099585264734814424,0.71271091895248362
country:AM,no_shelter,4,0,0,NaN,NaN,9.31267207444882e-12,2.2394068135082529e-10
country:IQ,no_shelter,3,0.33333333333333331,0.29814239699997203,0.026177434910030824,0.90291460053546801,0.026177434910040986,0.90291460053546857
country:GE,feels_unsafe,9,0.093750000000000014,0.083990351302051985,0.011860553020914336,0.47134112763323621,0.011860553020914398,0.47134112763323582
country:AM,feels_unsafe,4,0,0,NaN,NaN,9.31267207444882e-12,2.2394068135082529e-10
country:IQ,feels_unsafe,2,0,0,NaN,NaN,2.1989341812986989e-11,1.5436922717375028e-10
country:GE,rely,9,0.65625,0.16102091284985315,0.28728908104753514,0.90041473526520999,0.28728908104751627,0.90041473526518556
country:AM,rely,4,0.92307692307692313,0.05613510639352149,0.6818754113413924,0.98533343139945129,0.68187541134138718,0.98533343139945107
country:IQ,rely,2,0.5,0.38729833462074176,0.033073110019137493,0.96692688998086251,0.033073110019137507,0.96692688998086251
partner:caritas,economic,7,0.54423611111111114,0.077067536280544913,0.37632037431221532,0.71215184791000696,0.37632037431221532,0.71215184791000696
partner:iom,economic,10,0.53641891891891891,0.082597447815795005,0.35645453992009535,0.71638329791774247,0.35645453992009535,0.71638329791774247
partner:caritas,composite,6,0.50520000000000009,0.053790983071886699,0.38799951596256066,0.62240048403743953,0.38799951596256066,0.62240048403743953
partner:iom,composite,8,0.57532110091743116,0.057325015769808384,0.45042062109729647,0.70022158073756591,0.45042062109729647,0.70022158073756591
partner:caritas,no_shelter,6,0.30399999999999999,0.18162266360782178,0.063055771533676433,0.73922805936165137,0.063055771533689881,0.73922805936166347
partner:iom,no_shelter,10,0.26351351351351349,0.16619424157093032,0.052470861370724466,0.6980495638550942,0.052470861376367833,0.6980495638565879
partner:caritas,feels_unsafe,6,0,0,NaN,NaN,1.1907828733497985e-11,3.8120005865235421e-11
partner:iom,feels_unsafe,9,0.1484375,0.13351166640607973,0.017153691892351042,0.63516081024437276,0.01715369189235106,0.63516081024437265
partner:caritas,rely,6,0.69600000000000006,0.18162266360782184,0.26077194063834858,0.93694422846632364,0.26077194063833653,0.93694422846631009
partner:iom,rely,9,0.6640625,0.18046930486420384,0.25328708478346079,0.92012594736847153,0.25328708478336764,0.92012594736831865
country+partner:GE/caritas,economic,6,0.57166666666666666,0.093805821587696209,0.36728133909391913,0.77605199423941418,0.36728133909391913,0.77605199423941418
country+partner:GE/iom,economic,4,0.53249999999999997,0.10664593411451696,0.30013847051944442,0.76486152948055552,0.30013847051944442,0.76486152948055552
country+partner:AM/caritas,economic,1,0.44000000000000006,5.2662502028650513e-17,0.43999999999999995,0.44000000000000017,0.43999999999999995,0.44000000000000017
country+partner:AM/iom,economic,3,0.56000000000000005,0,0.56000000000000005,0.56000000000000005,0.56000000000000005,0.56000000000000005
country+partner:IQ/iom,economic,3,0.53666666666666674,0.15251957979952024,0.20435504942401739,0.86897828390931608,0.20435504942401739,0.86897828390931608
country+partner:GE/caritas,composite,5,0.51000000000000001,0.070625476244318822,0.35612030625752011,0.6638796937424799,0.35612030625752011,0.6638796937424799
country+partner:GE/iom,composite,3,0.6166666666666667,0.019546515720279139,0.57407846744003033,0.65925486589330307,0.57407846744003033,0.65925486589330307
country+partner:AM/caritas,composite,1,0.49000000000000005,5.2662502028650513e-17,0.48999999999999994,0.49000000000000016,0.48999999999999994,0.49000000000000016
country+partner:AM/iom,composite,3,0.54666666666666663,0,0.54666666666666663,0.54666666666666663,0.54666666666666663,0.54666666666666663
country+partner:IQ/iom,composite,2,0.52500000000000002,0.15104635050208925,0.19589827365163492,0.85410172634836512,0.19589827365163492,0.85410172634836512
country+partner:GE/caritas,no_shelter,5,0.40000000000000002,0.2202391045157393,0.082801261011811414,0.83117120873792405,0.082801261011811428,0.83117120873792416
country+partner:GE/iom,no_shelter,4,0.25,0.22213082915965959,0.024606101249559347,0.81496834905430837,0.024606101249722484,0.81496834905417848
country+partner:AM/caritas,no_shelter,1,0,0,NaN,NaN,2.0044388739266712e-11,1.2513220767864006e-09
country+partner:AM/iom,no_shelter,3,0,0,NaN,NaN,5.8262146389687396e-11,5.8262146389687396e-11
country+partner:IQ/iom,no_shelter,3,0.33333333333333331,0.29814239699997203,0.026177434910030824,0.90291460053546801,0.026177434910040986,0.90291460053546857
country+partner:GE/caritas,feels_unsafe,5,0,0,NaN,NaN,1.436894724750018e-11,3.1971208001348621e-11
country+partner:GE/iom,feels_unsafe,4,0.25,0.22213082915965959,0.024606101249559347,0.81496834905430837,0.024606101249722429,0.81496834905417859
country+partner:AM/caritas,feels_unsafe,1,0,0,NaN,NaN,2.0044388739266712e-11,1.2513220767864006e-09
country+partner:AM/iom,feels_unsafe,3,0,0,NaN,NaN,5.8262146389687396e-11,5.8262146389687396e-11
country+partner:IQ/iom,feels_unsafe,2,0,0,NaN,NaN,2.1989341812986989e-11,1.5436922717375028e-10
country+partner:GE/caritas,rely,5,0.60000000000000009,0.2202391045157393,0.16882879126207595,0.91719873898818871,0.16882879126207595,0.91719873898818849
country+partner:GE/iom,rely,4,0.75,0.22213082915965959,0.1850316509456916,0.97539389875044069,0.18503165094582152,0.97539389875027749
country+partner:AM/caritas,rely,1,1,0,NaN,NaN,0.99999999874867707,0.99999999997995559
country+partner:AM/iom,rely,3,0.66666666666666663,0,0.66666666666666663,0.66666666666666663,0.66666666666662167,0.66666666666662167
country+partner:IQ/iom,rely,2,0.5,0.38729833462074176,0.033073110019137493,0.96692688998086251,0.033073110019137507,0.96692688998086251
f:GE,economic,6,0.52000000000000002,0.088543676234561941,0.32707990223423522,0.71292009776576482,0.32707990223423522,0.71292009776576482
f:AM,economic,2,0.43454545454545457,0.00470421470107691,0.42429585120123903,0.44479505788967011,0.42429585120123903,0.44479505788967011
f:IQ,economic,1,0.84000000000000008,9.9301366129890942e-17,0.83999999999999986,0.8400000000000003,0.83999999999999986,0.8400000000000003
f:GE,composite,4,0.49733333333333335,0.060760368739472985,0.364947862388458,0.6297188042782087,0.364947862388458,0.6297188042782087
f:AM,composite,2,0.48636363636363639,0.0031361431340512576,0.47953056746749273,0.49319670525978004,0.47953056746749273,0.49319670525978004
f:IQ,composite,1,0.71999999999999997,0,0.71999999999999997,0.71999999999999997,0.71999999999999997,0.71999999999999997
f:GE,no_shelter,6,0.31818181818181818,0.18893216142223254,0.065397304842083531,0.75682677790677155,0.065397304842112008,0.75682677790678698
f:AM,no_shelter,2,0,0,NaN,NaN,1.9980285851131089e-11,8.5656822701186726e-10
f:IQ,no_shelter,1,0,0,NaN,NaN,2.2559655437463487e-11,1.1118071469707474e-09
f:GE,rely,5,0.61111111111111116,0.22018232021049186,0.17269526408324107,0.92205596098347731,0.17269526408324079,0.9220559609834772
f:AM,rely,2,0.90909090909090906,0.078403578351282158,0.55862455591649329,0.98750173518533335,0.55862455184340021,0.98750173504595196
f:IQ,rely,1,1,0,NaN,NaN,0.99999999888819213,0.99999999997744038
df,12
"""


def parse(text: str) -> dict:
    figures = {}
    for line in text.strip().splitlines():
        domain, variable, *values = line.split(",")
        if domain == "df":
            figures["df"] = int(variable)
            continue
        n, *numbers = values
        figures[(domain, variable)] = (int(n), *map(float, numbers))
    return figures


PINNED = parse(R_FIGURES)


def load_example() -> None:
    """The example into the tables: wave m6, five strata, respondents with scores, flags (a flag
    is missing when its item was not answered) and the answer the indicator reads."""
    strata = {}
    with open(DATA, newline="") as handle:
        for row in csv.DictReader(handle):
            if row["stratum"] not in strata:
                strata[row["stratum"]] = add_stratum("m6", row["country"], row["partner"],
                                                     int(row["frame_size"]), int(row["sample_size"]))
            value = {k: None if row[k] == "NA" else row[k] for k in row}
            responded = value["disposition"] in ("1.1", "1.2")
            answers, flags = {}, []
            if value["no_shelter"] is not None:
                answers["housing_situation"] = "shelter" if value["no_shelter"] == "1" else "own_home"
                flags += ["no_shelter"] if value["no_shelter"] == "1" else []
            if value["feels_unsafe"] is not None:
                answers["feels_safe"] = "not_safe" if value["feels_unsafe"] == "1" else "safe"
                flags += ["feels_unsafe"] if value["feels_unsafe"] == "1" else []
            if value["rely"] is not None:
                answers["someone_to_rely_on"] = "yes" if value["rely"] == "1" else "no"
            scores = {k: float(value[k]) if value[k] else None for k in ("economic", "composite")}
            add_case(row["partner"], row["country"], row["disposition"], wave="m6", sex=row["sex"],
                     stratum=strata[row["stratum"]], probability=int(row["sample_size"]) / int(row["frame_size"]),
                     scores=scores if responded else None, flags=flags, answers=answers)
    db.session.commit()


def ours(flt: ReportFilter, by: tuple[str, ...], label: str) -> dict:
    found = {}
    for row in outcomes(flt, by):
        domain = label if not by else f"{label}:" + "/".join(row.key[name] for name in by)
        found[(domain, row.indicator)] = row.result
    return found


def compare(figures: dict, found: dict) -> None:
    for (domain, variable), (n, value, se, low, high, logit_low, logit_high) in figures.items():
        result = found[(domain, VARIABLES[variable])]
        assert result.n == n, (domain, variable)
        assert result.estimate == pytest.approx(value, abs=TOLERANCE), (domain, variable)
        assert result.se == pytest.approx(se, abs=TOLERANCE), (domain, variable)
        if result.ci_low is None:  # a share of 0 or 1, or fewer than 2 respondents: no interval
            assert n < 2 or value < TOLERANCE or value > 1 - TOLERANCE or se < TOLERANCE, (domain, variable)
            continue
        assert result.ci_low == pytest.approx(low, abs=TOLERANCE), (domain, variable)
        assert result.ci_high == pytest.approx(high, abs=TOLERANCE), (domain, variable)
        assert (result.ci_low, result.ci_high) == pytest.approx((logit_low, logit_high), abs=1e-7)


def test_matches_r(app, orgs):
    load_example()
    # imported without a stratum: counted in caseload and response, never weighted
    add_case("caritas", "GE", "1.1", wave="m6", source="imported", sex="f",
             scores={"economic": 0.0, "composite": 0.0}, flags=["no_shelter", "feels_unsafe"],
             answers={"housing_situation": "shelter", "feels_safe": "not_safe", "someone_to_rely_on": "no"})
    db.session.commit()
    wave = ReportFilter(waves=("m6",))
    found = {}
    for label, by in (("all", ()), ("country", ("country",)), ("partner", ("partner",)),
                      ("country+partner", ("country", "partner"))):
        found |= ours(wave, by, label)
    found |= ours(ReportFilter(waves=("m6",), sexes=("f",)), ("country",), "f")
    figures = {key: value for key, value in PINNED.items() if key != "df"}
    compare(figures, found)
    assert len(figures) == 67
    # what the example covers
    assert found[("country+partner:AM/caritas", "economic")].ci_low is None  # one respondent
    assert found[("country:AM", "no_shelter")].estimate == 0 and found[("country:AM", "no_shelter")].ci_low is None
    assert found[("all", "feels_unsafe")].estimate == pytest.approx(0.06447963800995, abs=TOLERANCE)  # rare
    assert found[("all", "economic")].unreliable and found[("all", "economic")].n == 17


@pytest.mark.skipif(shutil.which("Rscript") is None, reason="Rscript is not installed (make test installs it)")
def test_r_still_prints_the_pinned_figures():
    check = subprocess.run(["Rscript", "-e", "library(survey)"], capture_output=True)
    if check.returncode != 0:
        pytest.skip("R's survey package is not installed (make test installs it)")
    run = subprocess.run(["Rscript", str(HERE / "outcomes_example.R"), str(DATA)], capture_output=True, text=True,
                         check=True)
    live = parse(run.stdout)
    assert live.keys() == PINNED.keys()
    for key, values in PINNED.items():
        assert live[key] == pytest.approx(values, abs=TOLERANCE, nan_ok=True), key


def test_estimator_by_hand():
    """Two strata, no domain: the textbook stratified mean with fpc."""
    design = {1: Stratum(population=10, respondents=2), 2: Stratum(population=4, respondents=2)}
    sums = {1: Sums(2, 0.2 + 0.4, 0.04 + 0.16), 2: Sums(2, 0.6 + 1.0, 0.36 + 1.0)}
    result = estimate(design, sums)
    # ŷ = (10·0.3 + 4·0.8) / 14; V = Σ (N_h/N)² (1 − n_h/N_h) s²_h / n_h
    mean = (10 * 0.3 + 4 * 0.8) / 14
    variance = (10 / 14) ** 2 * 0.8 * 0.02 / 2 + (4 / 14) ** 2 * 0.5 * 0.08 / 2
    assert result.estimate == pytest.approx(mean, abs=1e-15)
    assert result.se == pytest.approx(variance ** 0.5, abs=1e-15)
    assert degrees_of_freedom(design) == 2
    assert result.ci_low == pytest.approx(mean - t_quantile(2) * variance ** 0.5, abs=1e-15)
    assert t_quantile(12) == pytest.approx(2.1788128296672284, abs=1e-9)  # R: qt(0.975, 12)
    assert estimate(design, {}).estimate is None


def test_command_line(app, orgs):
    from tests.test_organisations_cli import invoke

    load_example()
    out = invoke(app, "report", "outcomes", "--wave", "m6", "--by", "country,partner", "--country", "GE",
                 "--format", "csv")
    assert out.exit_code == 0, out.output
    lines = out.output.splitlines()
    assert lines[0] == "wave,country,partner,indicator,n,estimate,se,ci_low,ci_high,unreliable"
    first = lines[1].split(",")
    assert first[:5] == ["m6", "GE", "caritas", "economic", "6"]
    assert [float(v) for v in first[5:9]] == pytest.approx(PINNED[("country+partner:GE/caritas", "economic")][1:5],
                                                          abs=TOLERANCE)
    assert first[9] == "true"
    assert {line.split(",")[1] for line in lines[1:]} == {"GE"}
    everyone = invoke(app, "report", "outcomes", "--format", "csv").output.splitlines()
    assert everyone[1].startswith("m6,all,all,economic,17,")
    # what IOM's staff may see: IOM's respondents, in the whole wave's design
    iom = invoke(app, "report", "outcomes", "--organisation", "iom", "--by", "partner", "--format", "csv")
    assert {line.split(",")[2] for line in iom.output.splitlines()[1:]} == {"iom"}
    assert [float(v) for v in iom.output.splitlines()[1].split(",")[5:7]] == pytest.approx(
        PINNED[("partner:iom", "economic")][1:3], abs=TOLERANCE)
