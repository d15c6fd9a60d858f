"""The vocabularies on the command line (industries, rules, stations), GB/T 4754 codes as
industries, and the lazy start-up of the ``ganpo`` group."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys

import click
import pytest
from click.testing import CliRunner

from ganpo_geo import ValidationError
from ganpo_geo.cli import COMMANDS, main
from ganpo_geo.zoning import industries, resolve_industry


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


# --------------------------------------------------------------------------- GB/T 4754 codes


@pytest.mark.parametrize(
    ("code", "key"),
    [
        ("2611", "chemical"),  # 无机酸制造, in C26 化学原料和化学制品制造业
        ("C26", "chemical"),
        ("c2611", "chemical"),
        ("2621", "phosphate_chemical"),  # its own class beats the division C26
        ("3360", "electroplating"),
        ("0932", "rare_earth"),
        ("3012", "industrial"),  # C30 but no listed class: the class listing section C
        ("06", "mining"),  # section B: mining (B) before industrial (B;C;D)
        ("B", "mining"),
    ],
)
def test_codes_resolve_to_the_class_with_the_longest_prefix(code: str, key: str) -> None:
    assert resolve_industry(code) == key


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("5211", "section F"),  # retail: no class in the vocabulary
        ("99", "not a GB/T 4754-2017 code"),
        ("B26", "section C, not B"),
    ],
)
def test_unknown_codes_fail_with_one_line_saying_where_to_look(code: str, message: str) -> None:
    with pytest.raises(ValidationError, match=message) as info:
        resolve_industry(code)
    assert "ganpo industries" in str(info.value) and "\n" not in str(info.value)


def test_site_check_takes_a_code_as_industry(runner) -> None:
    by_code = runner.invoke(main, ["site-check", "--lon", "115.9", "--lat", "28.7", "--industry", "2611"])
    by_name = runner.invoke(main, ["site-check", "--lon", "115.9", "--lat", "28.7", "--industry", "化工"])
    assert by_code.exit_code == 0, by_code.output
    a, b = json.loads(by_code.output), json.loads(by_name.output)
    assert a["site"]["industry_key"] == b["site"]["industry_key"] == "chemical"
    assert a["site"]["industry"] == "2611"
    assert a["verdict"] == b["verdict"] and a["rules"] == b["rules"]
    bad = runner.invoke(main, ["site-check", "--lon", "115.9", "--lat", "28.7", "--industry", "5211"])
    assert bad.exit_code == 1
    assert bad.output.count("\n") == 1 and "ganpo industries" in bad.output


# --------------------------------------------------------------------------- industries


def test_industries_search_chinese(runner) -> None:
    result = runner.invoke(main, ["industries", "--search", "化工", "--format", "json"])
    assert result.exit_code == 0, result.output
    rows = {r["industry"]: r for r in json.loads(result.output)}
    assert {"chemical", "petrochemical", "phosphate_chemical"} <= set(rows)
    assert rows["chemical"]["gbt4754"] == "C26" and rows["chemical"]["name_zh"] == "化工"
    assert rows["phosphate_chemical"]["gbt4754"] == "C2621"
    assert len(rows) < len(industries())
    text = runner.invoke(main, ["industries", "--search", "化工"])
    assert text.exit_code == 0 and "C26" in text.output and "化学原料和化学制品制造业" in text.output


def test_industries_search_by_code_and_csv(runner) -> None:
    result = runner.invoke(main, ["industries", "--search", "2611", "--format", "csv"])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.output)))
    assert [r["industry"] for r in rows] == ["chemical"]
    full = runner.invoke(main, ["industries", "--format", "csv"])
    assert len(list(csv.DictReader(io.StringIO(full.output)))) == len(industries())


def test_industries_no_match_and_bad_format(runner) -> None:
    result = runner.invoke(main, ["industries", "--search", "no-such-trade"])
    assert result.exit_code == 1 and "ganpo industries" in result.output
    assert runner.invoke(main, ["industries", "--format", "xml"]).exit_code == 2


# --------------------------------------------------------------------------- rules


def test_rules_for_an_industry_code_and_a_unit(runner) -> None:
    all_rules = json.loads(runner.invoke(main, ["rules", "--format", "json"]).output)
    chem = json.loads(runner.invoke(main, ["rules", "--industry", "2611", "--format", "json"]).output)
    assert 0 < len(chem) < len(all_rules)
    assert "P-SL-01" in {r["rule_id"] for r in chem}  # the Yangtze 1 km rule names chemical
    assert all(r["industry"] == "chemical" for r in chem)
    unit = "ZH36010220001"
    both = runner.invoke(main, ["rules", "--unit", unit, "--industry", "化工", "--format", "json"])
    assert both.exit_code == 0, both.output
    scoped = json.loads(both.output)
    assert {r["level"] for r in scoped} <= {"province", "city", "unit"}
    assert all(r["level"] != "city" or r["scope"] == "360100" for r in scoped)
    any_industry = json.loads(runner.invoke(main, ["rules", "--unit", unit, "--format", "json"]).output)
    assert {r["rule_id"] for r in scoped} <= {r["rule_id"] for r in any_industry}
    text = runner.invoke(main, ["rules", "--unit", unit, "--lang", "en"])
    assert text.exit_code == 0 and "Yangtze" in text.output


def test_rules_bad_input(runner) -> None:
    bad_unit = runner.invoke(main, ["rules", "--unit", "ZH00000000000"])
    assert bad_unit.exit_code == 1 and "unknown unit code" in bad_unit.output
    bad_code = runner.invoke(main, ["rules", "--industry", "99"])
    assert bad_code.exit_code == 1 and "not a GB/T 4754-2017 code" in bad_code.output


# --------------------------------------------------------------------------- stations


def test_stations_json_csv_text(runner) -> None:
    rows = json.loads(runner.invoke(main, ["stations", "--format", "json"]).output)
    by_id = {r["station_id"]: r for r in rows}
    assert {"waizhou", "hukou", "xingzi"} <= set(by_id)
    assert isinstance(by_id["waizhou"]["reach_id"], int)  # not 52.0
    assert by_id["hukou"]["reach_id"] is None
    assert by_id["waizhou"]["observed_tp_kg_yr"] > 0
    table = runner.invoke(main, ["stations", "--format", "csv"]).output
    waizhou = next(r for r in csv.DictReader(io.StringIO(table)) if r["station_id"] == "waizhou")
    assert waizhou["reach_id"] == str(by_id["waizhou"]["reach_id"])
    text = runner.invoke(main, ["stations"]).output
    assert "外洲" in text and "ILLUSTRATIVE" in text and ".0 " not in text.splitlines()[2]


# --------------------------------------------------------------------------- lazy group


def test_help_lists_every_command_with_its_own_short_help(runner) -> None:
    result = runner.invoke(main, ["--help"])
    assert result.exit_code == 0
    for name, (_, _, first_line) in COMMANDS.items():
        assert name in result.output
        command = main.get_command(None, name)  # type: ignore[arg-type]
        assert command is not None and command.name == name
        assert command.get_short_help_str(200) == click.Command(None, help=first_line).get_short_help_str(200), name


def test_version_help_and_site_check_import_only_what_they_need() -> None:
    code = (
        "import sys; from click.testing import CliRunner; from ganpo_geo.cli import main; "
        "args = sys.argv[1:]; r = CliRunner().invoke(main, args); assert r.exit_code == 0, r.output; "
        "print(','.join(m for m in ('geopandas', 'pandas', 'networkx', 'folium', 'scipy', 'ganpo_geo.siting') "
        "if m in sys.modules))"
    )

    def loaded(*args: str) -> set[str]:
        out = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, check=True)
        return set(filter(None, out.stdout.strip().split(",")))

    assert loaded("--version") == set()
    assert loaded("--help") == set()
    site = loaded("site-check", "--lon", "115.9", "--lat", "28.7", "--industry", "化工", "--format", "json")
    assert {"geopandas", "ganpo_geo.siting"} <= site
    assert not site & {"networkx", "folium", "scipy"}


def test_package_names_stay_importable_lazily() -> None:
    code = (
        "import sys, ganpo_geo; assert 'geopandas' not in sys.modules; "
        "from ganpo_geo import load_layer, ValidationError, __version__, rivers; "
        "assert callable(load_layer) and issubclass(ValidationError, Exception); "
        "assert set(ganpo_geo.__all__) <= set(dir(ganpo_geo)); "
        "[getattr(ganpo_geo, n) for n in ganpo_geo.__all__]; print(__version__)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        import ganpo_geo

        _ = ganpo_geo.nope  # type: ignore[attr-defined]


def test_a_command_added_directly_is_listed_and_runs() -> None:
    import click

    from ganpo_geo.cli import _GanpoGroup

    @click.group(cls=_GanpoGroup)
    def group() -> None:
        """A group like ganpo's."""

    @group.command("hello")
    def hello() -> None:
        """Say hello to the merge."""
        click.echo("hello")

    runner = CliRunner()
    listing = runner.invoke(group, ["--help"]).output
    assert "hello" in listing and "Say hello to the merge." in listing and "industries" in listing
    assert runner.invoke(group, ["hello"]).output == "hello\n"
