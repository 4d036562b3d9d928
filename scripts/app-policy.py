#!/usr/bin/env python3
"""The apps' privacy and safety settings, checked where CI can check them.

No Android SDK or Xcode runs here, so the shells' project files and glue are checked
as files: the rules a release must keep are read from the manifest, the backup rules
and the sources, and any one that goes missing fails the check.

    scripts/app-policy.py check      # exit 0 when every rule holds, 1 with one line per breach
    scripts/app-policy.py selftest   # proves that check fails when a rule is broken

Android: no backups (allowBackup=false, and both rule files exclude every domain in
cloud backup and device transfer), the history and key under noBackupFilesDir, no
permission to read the gallery or storage (system picker only), FLAG_SECURE, the app
kept out of recents, quick exit with finishAndRemoveTask.
iOS: the history directory excluded from backup, the Keychain item readable after
first unlock on this device only, no photo-library usage description (PHPicker needs
none), a privacy cover when the scene is not active.
"""
import os
import re
import shutil
import sys
import tempfile
import xml.etree.ElementTree as ET

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ANDROID = "{http://schemas.android.com/apk/res/android}"
DOMAINS = {"root", "file", "database", "sharedpref", "external"}
GALLERY_PERMISSIONS = {
    "android.permission.READ_EXTERNAL_STORAGE",
    "android.permission.WRITE_EXTERNAL_STORAGE",
    "android.permission.READ_MEDIA_IMAGES",
    "android.permission.READ_MEDIA_VIDEO",
    "android.permission.READ_MEDIA_VISUAL_USER_SELECTED",
    "android.permission.MANAGE_EXTERNAL_STORAGE",
}


def sources(root, sub, ext):
    """Concatenated text of every file under root/sub ending in ext."""
    out = []
    for d, _, files in os.walk(os.path.join(root, sub)):
        for f in sorted(files):
            if f.endswith(ext):
                with open(os.path.join(d, f), encoding="utf-8") as fh:
                    out.append(fh.read())
    return "\n".join(out)


def excludes_everything(section, where):
    """Problems when an XML rules section does not exclude every domain."""
    if section is None:
        return [f"{where}: missing"]
    if section.findall("include"):
        return [f"{where}: includes something"]
    excluded = {e.get("domain") for e in section.findall("exclude") if e.get("path") in (".", "")}
    missing = sorted(DOMAINS - excluded)
    return [f"{where}: does not exclude {', '.join(missing)}"] if missing else []


def check_android(root):
    bad = []
    res = os.path.join(root, "android", "app", "src", "main")
    manifest = os.path.join(res, "AndroidManifest.xml")
    try:
        m = ET.parse(manifest).getroot()
    except (OSError, ET.ParseError) as e:
        return [f"android manifest: {e}"]
    app = m.find("application")
    if app is None:
        return ["android manifest: no <application>"]
    if app.get(ANDROID + "allowBackup") != "false":
        bad.append('android manifest: application must set android:allowBackup="false"')
    for attr, root_tag, sections in [
        ("fullBackupContent", "full-backup-content", [None]),
        ("dataExtractionRules", "data-extraction-rules", ["cloud-backup", "device-transfer"]),
    ]:
        ref = app.get(ANDROID + attr) or ""
        if not ref.startswith("@xml/"):
            bad.append(f"android manifest: android:{attr} must name the rules in res/xml")
            continue
        path = os.path.join(res, "res", "xml", ref[len("@xml/"):] + ".xml")
        try:
            rules = ET.parse(path).getroot()
        except (OSError, ET.ParseError) as e:
            bad.append(f"{attr}: {e}")
            continue
        if rules.tag != root_tag:
            bad.append(f"{attr}: root element is {rules.tag}, not {root_tag}")
            continue
        for s in sections:
            node = rules if s is None else rules.find(s)
            bad += excludes_everything(node, f"{attr} {s or root_tag}")
    for p in m.findall("uses-permission"):
        if p.get(ANDROID + "name") in GALLERY_PERMISSIONS:
            bad.append(f"android manifest: asks for {p.get(ANDROID + 'name')} (use the system picker)")
    for a in app.findall("activity") + app.findall("activity-alias"):
        if a.get(ANDROID + "excludeFromRecents") != "true":
            bad.append(f"android manifest: {a.get(ANDROID + 'name')} must be excluded from recents")
    kt = sources(root, "android/app/src/main", ".kt")
    if not re.search(r"FLAG_SECURE", kt):
        bad.append("android app: no FLAG_SECURE (app-switcher snapshots would show content)")
    if "finishAndRemoveTask" not in kt:
        bad.append("android app: quick exit must finishAndRemoveTask")
    if not re.search(r"noBackupFilesDir\s*,\s*\"takedown\"", kt):
        bad.append("android app: the history must live under noBackupFilesDir")
    return bad


def check_ios(root):
    bad = []
    swift = sources(root, "ios/App", ".swift")
    if "isExcludedFromBackup = true" not in swift:
        bad.append("ios app: the history directory must be excluded from backup")
    if "kSecAttrAccessibleAfterFirstUnlockThisDeviceOnly" not in swift:
        bad.append("ios app: the Keychain key must be AfterFirstUnlockThisDeviceOnly")
    if re.search(r"kSecAttrAccessible(Always|AfterFirstUnlock\b)", swift):
        bad.append("ios app: a Keychain item may leave the device or be readable while locked")
    if "scenePhase" not in swift:
        bad.append("ios app: no privacy cover on scene phase changes")
    project = sources(root, "ios/App", ".yml") + sources(root, "ios/App", ".plist")
    if "NSPhotoLibraryUsageDescription" in project:
        bad.append("ios app: asks for the photo library (PHPicker needs no permission)")
    return bad


def check(root):
    return check_android(root) + check_ios(root)


def selftest():
    """Each breach below must be reported by check()."""
    breaches = [
        ("android/app/src/main/AndroidManifest.xml", 'android:allowBackup="false"', 'android:allowBackup="true"'),
        ("android/app/src/main/res/xml/data_extraction_rules.xml", '<exclude domain="database" path="." />', ""),
        ("android/app/src/main/res/xml/backup_rules.xml", '<exclude domain="file" path="." />', '<include domain="file" path="." />'),
        ("android/app/src/main/AndroidManifest.xml", "<application", '<uses-permission android:name="android.permission.READ_MEDIA_IMAGES" />\n    <application'),
        ("android/app/src/main/AndroidManifest.xml", 'android:excludeFromRecents="true"', 'android:excludeFromRecents="false"'),
    ]
    failures = []
    base = check(ROOT)
    if base:
        failures.append(f"the tree itself fails: {base}")
    for path, old, new in breaches:
        with tempfile.TemporaryDirectory() as tmp:
            for sub in ("android/app/src/main", "ios/App"):
                shutil.copytree(os.path.join(ROOT, sub), os.path.join(tmp, sub))
            target = os.path.join(tmp, path)
            with open(target, encoding="utf-8") as fh:
                text = fh.read()
            if old not in text:
                failures.append(f"selftest: {old!r} not found in {path}")
                continue
            with open(target, "w", encoding="utf-8") as fh:
                fh.write(text.replace(old, new, 1))
            if not check(tmp):
                failures.append(f"selftest: check missed {path}: {old!r} -> {new!r}")
    for sub, needle in [("android/app/src/main", "FLAG_SECURE"), ("ios/App", "isExcludedFromBackup = true")]:
        with tempfile.TemporaryDirectory() as tmp:
            for s in ("android/app/src/main", "ios/App"):
                shutil.copytree(os.path.join(ROOT, s), os.path.join(tmp, s))
            for d, _, files in os.walk(os.path.join(tmp, sub)):
                for f in files:
                    p = os.path.join(d, f)
                    if f.endswith((".kt", ".swift")):
                        with open(p, encoding="utf-8") as fh:
                            t = fh.read()
                        with open(p, "w", encoding="utf-8") as fh:
                            fh.write(t.replace(needle, "REMOVED"))
            if not check(tmp):
                failures.append(f"selftest: check missed the removal of {needle}")
    return failures


def main():
    if len(sys.argv) != 2 or sys.argv[1] not in ("check", "selftest"):
        print(__doc__.strip())
        return 2
    problems = check(ROOT) if sys.argv[1] == "check" else selftest()
    for p in problems:
        print(p)
    if not problems:
        print(f"app-policy: {sys.argv[1]} ok")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
