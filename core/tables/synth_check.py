#!/usr/bin/env python3
"""Write synthetic GRIB2 messages covering ecCodes' parameter tables, with
ecCodes' answers, for a much wider metadata check than the shared samples.

    .venv/bin/python core/tables/synth_check.py target/meta-synth
    GIK_META_SYNTH=target/meta-synth cargo test -p gik-core --test eccodes_meta

Every message is built by ecCodes itself (`codes_set` of paramId, levels,
templates, steps on its GRIB2 sample) so it is exactly what ecCodes would
write; the expected keys come from ../shared/tools/grib_oracle.py. Sets:

* ecmwf_*: every paramId of ecCodes' master and ECMWF-local tables, set on an
  ECMWF message with MARS labelling, for tablesVersion 30 (pre-MTG2 tables),
  35 (post-MTG2) and class "mc" (chemical split);
* centres: the local tables of other centres (kwbc, edzw, lfpw, ...);
* random: random discipline/category/number, level types, templates,
  statistics and step units, for all centres.
"""

from __future__ import annotations

import os
import random
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import eccodes as ec  # noqa: E402

from defparse import parse_concept_file  # noqa: E402
from eccodes_defs import Definitions  # noqa: E402


def oracle():
    shared = os.environ.get("GIK_SHARED", os.path.join(HERE, "..", "..", "..", "shared"))
    sys.path.insert(0, os.path.join(shared, "tools"))
    import grib_oracle  # noqa: PLC0415

    return grib_oracle


def base(centre=98, local=True, tables_version=35, cls=None, sub_centre=0):
    h = ec.codes_grib_new_from_samples("GRIB2")
    ec.codes_set(h, "centre", centre)
    ec.codes_set(h, "subCentre", sub_centre)
    ec.codes_set(h, "tablesVersion", tables_version)
    if local:
        ec.codes_set(h, "setLocalDefinition", 1)
        ec.codes_set(h, "localDefinitionNumber", 1)
        if cls:
            ec.codes_set(h, "class", cls)
    # a tiny grid keeps the file small
    ec.codes_set(h, "Ni", 2)
    ec.codes_set(h, "Nj", 2)
    ec.codes_set(h, "iDirectionIncrementInDegrees", 1.0)
    ec.codes_set(h, "jDirectionIncrementInDegrees", 1.0)
    ec.codes_set(h, "latitudeOfFirstGridPointInDegrees", 1.0)
    ec.codes_set(h, "longitudeOfFirstGridPointInDegrees", 0.0)
    ec.codes_set(h, "latitudeOfLastGridPointInDegrees", 0.0)
    ec.codes_set(h, "longitudeOfLastGridPointInDegrees", 1.0)
    ec.codes_set_values(h, [1.0, 2.0, 3.0, 4.0])
    return h


def emit(out, h):
    """Writes the message if ecCodes can read it back completely."""
    try:
        msg = ec.codes_get_message(h)
        back = ec.codes_new_from_message(msg)
        try:
            for key in ("paramId", "stepRange", "packingType", "numberOfValues", "gridType"):
                ec.codes_get(back, key)
        finally:
            ec.codes_release(back)
        out.write(msg)
        return 1
    except Exception:  # noqa: BLE001
        return 0
    finally:
        ec.codes_release(h)


def param_ids(defs, files):
    ids = []
    for f in files:
        text = defs.get(f)
        if text:
            ids += [e.value for e in parse_concept_file(text)]
    seen = set()
    return [int(x) for x in ids if x.isdigit() and not (x in seen or seen.add(x))]


def ecmwf_set(defs, path, tables_version, cls, master_file):
    n = 0
    ids = param_ids(defs, [f"grib2/{master_file}", f"grib2/localConcepts/ecmf/{master_file}"])
    with open(path, "wb") as out:
        for pid in ids:
            h = base(98, True, tables_version, cls)
            try:
                ec.codes_set(h, "paramId", pid)
            except Exception:  # noqa: BLE001
                ec.codes_release(h)
                continue
            n += emit(out, h)
    return n


def centre_set(defs, path):
    n = 0
    centres = {"kwbc": 7, "edzw": 78, "lfpw": 85, "cnmc": 80, "egrr": 74, "eswi": 82, "efkl": 86, "ekmi": 94}
    with open(path, "wb") as out:
        for name, code in centres.items():
            for pid in param_ids(defs, [f"grib2/localConcepts/{name}/paramId.def"]):
                h = base(code, False, 4)
                try:
                    ec.codes_set(h, "paramId", pid)
                except Exception:  # noqa: BLE001
                    ec.codes_release(h)
                    continue
                n += emit(out, h)
    return n


LEVEL_TYPES = [1, 2, 3, 4, 6, 7, 8, 100, 101, 102, 103, 104, 105, 106, 107, 108, 109, 111, 114, 117, 151, 152,
               160, 168, 169, 174, 175, 176, 177, 200, 211, 212, 213, 220, 222, 223, 224, 234, 235, 255]


def random_set(defs, path, count, rng):
    entries = parse_concept_file(defs["grib2/paramId.def"]) + parse_concept_file(defs["grib2/paramId.lte33.def"])
    dcn = sorted({tuple(c.value for c in e.conds if c.key in ("discipline", "parameterCategory", "parameterNumber"))
                  for e in entries})
    dcn = [t for t in dcn if len(t) == 3]
    n = 0
    with open(path, "wb") as out:
        for _ in range(count):
            centre = rng.choice([98, 98, 98, 7, 7, 78, 85, 54, 34, 0, 161])
            local = centre == 98 and rng.random() < 0.8
            tv = rng.choice([4, 19, 30, 33, 34, 35])
            cls = rng.choice([None, "od", "mc", "rd", "ea", "ce", "s2", "ti", "e6", "ci", "gw", "ng"]) if local else None
            h = base(centre, local, tv, cls, sub_centre=rng.choice([0, 0, 0, 98]) if centre != 98 else 0)
            try:
                status = rng.choice([0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 10, 14])
                if status:
                    ec.codes_set(h, "productionStatusOfProcessedData", status)
                if rng.random() < 0.5:
                    ec.codes_set(h, "typeOfProcessedData", rng.choice([0, 1, 2, 3, 4, 5, 8, 255]))
                pdt = rng.choice([0, 0, 1, 8, 8, 11, 2, 12, 40, 42, 48, 10, 9, 15])
                ec.codes_set(h, "productDefinitionTemplateNumber", pdt)
                d, c, num = rng.choice(dcn)
                ec.codes_set(h, "discipline", d)
                ec.codes_set(h, "parameterCategory", c)
                ec.codes_set(h, "parameterNumber", num)
                t1 = rng.choice(LEVEL_TYPES)
                ec.codes_set(h, "typeOfFirstFixedSurface", t1)
                if t1 not in (1, 8, 255) and rng.random() < 0.9:
                    ec.codes_set(h, "scaleFactorOfFirstFixedSurface", rng.choice([0, 0, 0, 1, 2, -1]))
                    ec.codes_set(h, "scaledValueOfFirstFixedSurface", rng.choice([0, 1, 2, 10, 50, 100, 500, 850, 1000, 85000, 50000, 2, 7]))
                if rng.random() < 0.2:
                    ec.codes_set(h, "typeOfSecondFixedSurface", rng.choice(LEVEL_TYPES))
                unit = rng.choice([1, 1, 1, 0, 13, 2, 10, 11])
                ec.codes_set(h, "indicatorOfUnitOfTimeRange", unit)
                ec.codes_set(h, "forecastTime", rng.choice([0, 1, 3, 6, 12, 24, 30, 90, 120, 360, 1440]))
                if ec.codes_is_defined(h, "typeOfStatisticalProcessing"):
                    ec.codes_set(h, "typeOfStatisticalProcessing", rng.choice([0, 1, 2, 3, 4, 5, 6, 7, 8, 255]))
                    ec.codes_set(h, "indicatorOfUnitForTimeRange", rng.choice([1, 1, 0, 13, 2]))
                    ec.codes_set(h, "lengthOfTimeRange", rng.choice([0, 1, 3, 6, 24, 90]))
                    if rng.random() < 0.2:
                        ec.codes_set(h, "typeOfTimeIncrement", 1)
                if ec.codes_is_defined(h, "perturbationNumber"):
                    ec.codes_set(h, "perturbationNumber", rng.randrange(0, 51))
                if ec.codes_is_defined(h, "constituentType"):
                    ec.codes_set(h, "constituentType", rng.choice([0, 1, 2, 4, 5, 62000, 62001, 62008, 62012]))
                if ec.codes_is_defined(h, "typeOfWavelengthInterval"):
                    ec.codes_set(h, "typeOfWavelengthInterval", 11)
                    ec.codes_set(h, "scaleFactorOfFirstWavelength", 9)
                    ec.codes_set(h, "scaledValueOfFirstWavelength", rng.choice([355, 550, 1020]))
                if ec.codes_is_defined(h, "percentileValue"):
                    ec.codes_set(h, "percentileValue", rng.choice([10, 50, 90]))
                if ec.codes_is_defined(h, "probabilityType"):
                    ec.codes_set(h, "probabilityType", rng.choice([0, 1, 3]))
                    ec.codes_set(h, "scaleFactorOfLowerLimit", 0)
                    ec.codes_set(h, "scaledValueOfLowerLimit", rng.choice([1, 10, 20]))
            except Exception:  # noqa: BLE001
                ec.codes_release(h)
                continue
            n += emit(out, h)
    return n


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    outdir = sys.argv[1]
    os.makedirs(os.path.join(outdir, "eccodes_expected"), exist_ok=True)
    defs = Definitions()
    rng = random.Random(20250101)
    sets = {
        "ecmwf_tv30.grib2": lambda p: ecmwf_set(defs, p, 30, "od", "paramId.lte33.def"),
        "ecmwf_tv35.grib2": lambda p: ecmwf_set(defs, p, 35, "od", "paramId.def"),
        "ecmwf_mc.grib2": lambda p: ecmwf_set(defs, p, 35, "mc", "paramId.chemsplit.def"),
        "centres.grib2": lambda p: centre_set(defs, p),
        "random.grib2": lambda p: random_set(defs, p, 6000, rng),
    }
    orc = oracle()
    for name, make in sets.items():
        path = os.path.join(outdir, name)
        n = make(path)
        orc.describe(path, os.path.join(outdir, "eccodes_expected"), False)
        print(f"{path}: {n} messages")


if __name__ == "__main__":
    main()
