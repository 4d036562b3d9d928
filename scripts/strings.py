#!/usr/bin/env python3
"""The apps' user-facing texts: one source, two languages, two platforms.

Source of truth: android/app/src/main/res/values{,-de}/strings.xml (English is the
default). The iOS String Catalog ios/App/Resources/Localizable.xcstrings is generated
from them, so both apps carry the same keys and the same texts.

    scripts/strings.py check      # parity: keys, plural forms, placeholders; catalog up to date
    scripts/strings.py gen        # rewrite the String Catalog from the Android files
    scripts/strings.py selftest   # proves that check fails on broken input

Exit status 0 when everything agrees, 1 with one line per problem otherwise.
"""
import json
import os
import re
import sys
import tempfile
import xml.etree.ElementTree as ET

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RES = os.path.join(ROOT, "android", "app", "src", "main", "res")
LANGS = {"en": "values", "de": "values-de"}
CATALOG = os.path.join(ROOT, "ios", "App", "Resources", "Localizable.xcstrings")
PLACEHOLDER = re.compile(r"%(?:(\d+)\$)?([sd%])")


def load(path):
    """Key -> text (str) or plural forms (dict quantity -> text)."""
    out = {}
    for el in ET.parse(path).getroot():
        name = el.get("name")
        if el.tag == "string":
            text = el.text or ""
        elif el.tag == "plurals":
            text = {item.get("quantity"): item.text or "" for item in el.findall("item")}
        else:
            continue
        if name in out:
            raise ValueError(f"{path}: key {name} defined twice")
        out[name] = text
    return out


def placeholders(text):
    """The sorted (position, type) placeholders of one text; '%%' is a literal."""
    found = []
    for i, m in enumerate(m for m in PLACEHOLDER.finditer(text) if m.group(2) != "%"):
        found.append((int(m.group(1) or i + 1), m.group(2)))
    return sorted(found)


def problems(tables):
    """Every disagreement between the language tables, one string each."""
    out = []
    base_lang = "en"
    base = tables[base_lang]
    for lang, table in tables.items():
        for key in sorted(set(base) - set(table)):
            out.append(f"{lang}: missing key {key}")
        for key in sorted(set(table) - set(base)):
            out.append(f"{lang}: key {key} is not in {base_lang}")
    for key, text in base.items():
        for lang, table in tables.items():
            other = table.get(key)
            if other is None:
                continue
            for label, value in (("en", text), (lang, other)):
                values = value.values() if isinstance(value, dict) else [value]
                for v in values:
                    if re.search(r"(?<!\\)'", v):
                        out.append(f"{label}: {key} has an unescaped apostrophe")
                    if not v.strip():
                        out.append(f"{label}: {key} is empty")
            if isinstance(text, dict) != isinstance(other, dict):
                out.append(f"{lang}: {key} is a plural in one language only")
                continue
            if isinstance(text, dict):
                if "other" not in other:
                    out.append(f"{lang}: plural {key} has no 'other' form")
                want = {tuple(placeholders(v)) for v in text.values()}
                got = {tuple(placeholders(v)) for v in other.values()}
                if want != got:
                    out.append(f"{lang}: placeholders of {key} differ: {sorted(got)} vs {sorted(want)}")
            elif placeholders(text) != placeholders(other):
                out.append(f"{lang}: placeholders of {key} differ: {placeholders(other)} vs {placeholders(text)}")
    return out


def to_ios(text):
    """Android text -> iOS text: %1$s -> %1$@, %1$d -> %1$lld, \\' -> '."""
    text = text.replace("\\'", "'").replace('\\"', '"')
    return PLACEHOLDER.sub(lambda m: m.group(0) if m.group(2) == "%" else
                           "%" + (m.group(1) + "$" if m.group(1) else "") +
                           ("@" if m.group(2) == "s" else "lld"), text)


def catalog(tables):
    """The String Catalog (JSON text) for the language tables."""
    strings = {}
    for key in sorted(tables["en"]):
        locs = {}
        for lang in sorted(tables):
            value = tables[lang][key]
            if isinstance(value, dict):
                forms = {q: {"stringUnit": {"state": "translated", "value": to_ios(v)}}
                         for q, v in sorted(value.items())}
                locs[lang] = {"variations": {"plural": forms}}
            else:
                locs[lang] = {"stringUnit": {"state": "translated", "value": to_ios(value)}}
        strings[key] = {"extractionState": "manual", "localizations": locs}
    doc = {"sourceLanguage": "en", "strings": strings, "version": "1.0"}
    return json.dumps(doc, ensure_ascii=False, indent=2, sort_keys=True) + "\n"


def tables_in(res):
    return {lang: load(os.path.join(res, d, "strings.xml")) for lang, d in LANGS.items()}


def check(res=RES, catalog_path=CATALOG):
    tables = tables_in(res)
    out = problems(tables)
    if not out:
        want = catalog(tables)
        have = open(catalog_path, encoding="utf-8").read() if os.path.exists(catalog_path) else ""
        if have != want:
            out.append(f"{os.path.relpath(catalog_path, ROOT)} is out of date: run scripts/strings.py gen")
    return out


def selftest():
    """check() must report each kind of breakage; returns the failures of the selftest."""
    good_en = '<resources><string name="a">Hi %1$s</string><plurals name="p"><item quantity="one">%1$d x</item><item quantity="other">%1$d xs</item></plurals></resources>'
    good_de = '<resources><string name="a">Hallo %1$s</string><plurals name="p"><item quantity="one">%1$d x</item><item quantity="other">%1$d xe</item></plurals></resources>'
    cases = {
        "ok": (good_en, good_de, None),
        "missing key": (good_en, good_de.replace('<string name="a">Hallo %1$s</string>', ""), "missing key a"),
        "extra key": (good_en, good_de.replace("</resources>", '<string name="b">B</string></resources>'), "key b is not in en"),
        "placeholder type": (good_en, good_de.replace("Hallo %1$s", "Hallo %1$d"), "placeholders of a differ"),
        "placeholder count": (good_en, good_de.replace("Hallo %1$s", "Hallo"), "placeholders of a differ"),
        "plural placeholder": (good_en, good_de.replace("%1$d xe", "xe"), "placeholders of p differ"),
        "apostrophe": (good_en, good_de.replace("Hallo", "Hallo'"), "unescaped apostrophe"),
    }
    failures = []
    for name, (en, de, expect) in cases.items():
        with tempfile.TemporaryDirectory() as tmp:
            for lang, text in (("values", en), ("values-de", de)):
                os.makedirs(os.path.join(tmp, lang))
                with open(os.path.join(tmp, lang, "strings.xml"), "w", encoding="utf-8") as f:
                    f.write(text)
            cat = os.path.join(tmp, "Localizable.xcstrings")
            if expect is None:
                with open(cat, "w", encoding="utf-8") as f:
                    f.write(catalog(tables_in(tmp)))
                got = check(tmp, cat)
                if got:
                    failures.append(f"{name}: expected no problem, got {got}")
                os.remove(cat)
                if not any("out of date" in p for p in check(tmp, cat)):
                    failures.append(f"{name}: a missing catalog was not reported")
            else:
                got = problems(tables_in(tmp))
                if not any(expect in p for p in got):
                    failures.append(f"{name}: expected '{expect}', got {got}")
    if to_ios("%1$s has %2$d, 100%% it\\'s") != "%1$@ has %2$lld, 100%% it's":
        failures.append("to_ios conversion is wrong")
    return failures


def main(argv):
    cmd = argv[1] if len(argv) > 1 else "check"
    if cmd == "gen":
        tables = tables_in(RES)
        bad = problems(tables)
        if bad:
            print("\n".join(bad))
            return 1
        os.makedirs(os.path.dirname(CATALOG), exist_ok=True)
        with open(CATALOG, "w", encoding="utf-8") as f:
            f.write(catalog(tables))
        print(f"wrote {os.path.relpath(CATALOG, ROOT)} ({len(tables['en'])} keys)")
        return 0
    if cmd == "selftest":
        bad = selftest()
        print("\n".join(bad) if bad else "strings selftest: ok")
        return 1 if bad else 0
    if cmd == "check":
        bad = check()
        n = len(load(os.path.join(RES, "values", "strings.xml")))
        print("\n".join(bad) if bad else f"strings: {n} keys agree in en and de, Android and iOS")
        return 1 if bad else 0
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
