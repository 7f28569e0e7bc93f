"""The paper's benchmark tables as numbers (Leitherer, Ziletti & Ghiringhelli 2021: Table 2 and
Supplementary Tables 1-3, accuracy in %), from ``ase_arise/data/paper_results.json``.

Rows without "*" count only the classes a method was designed for, "*" rows all classes.
"""

import functools
import json
from importlib import resources

TABLES = ("table2", "supp_table2", "supp_table3")


@functools.lru_cache(maxsize=1)
def paper_results():
    """The whole record (dict): tables, their columns, classes each method treats, source."""
    return json.loads(resources.files("ase_arise").joinpath("data/paper_results.json")
                      .read_text(encoding="utf-8"))


def level_name(level):
    """The paper's column name of a (displacement, missing) level, e.g. "missing 5% +
    displacement 0.6%"; "pristine" for (0, 0)."""
    displacement, missing = level
    if displacement and missing:
        return f"missing {missing * 100:g}% + displacement {displacement * 100:g}%"
    if displacement:
        return f"displacement {displacement * 100:g}%"
    if missing:
        return f"missing {missing * 100:g}%"
    return "pristine"


def paper_accuracy(method, level):
    """The paper's accuracy (%) of ``method`` ("ARISE", "PTM", "PTM*", "spglib loose", ...) at a
    level, or None where the paper has no such cell."""
    record = paper_results()
    name = level_name(level)
    for table in TABLES:
        columns = record["columns"][table]
        if name in columns and method in record[table]:
            return record[table][method][columns.index(name)]
    return None
