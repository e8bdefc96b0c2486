#!/usr/bin/env python3
"""Independent cross-check of the golden vectors of idem key format v1 (keys-v1.json).

Nothing here comes from idem: for every case this script builds the envelope itself from the
case's inputs and the rules of docs/key-format.md, canonicalizes it with the `rfc8785` package
(pip install rfc8785), hashes it with hashlib, and compares with the file's "canonical" and
"key". Error cases are checked against the error the rules predict; custom keys against the
validation rules.

Cases holding an integer beyond +/-(2^53-1) are skipped: rfc8785 rejects such integers, while key
format v1 writes their exact digits (an extension of RFC 8785).

Usage: python3 tests/vectors/check_keys.py [path/to/keys-v1.json]
Exit status 0 when every checked case matches, 1 otherwise. The last line of output is
"N passed, N failed, N skipped".
"""

from __future__ import annotations

import hashlib
import json
import sys
import unicodedata
from pathlib import Path

try:
    import rfc8785
except ImportError:  # pragma: no cover - depends on the machine
    sys.exit("check_keys.py needs the rfc8785 package: pip install rfc8785")

MAX_SAFE_INTEGER = 2**53 - 1
MAX_CUSTOM_KEY_BYTES = 255
DIGESTS = {"sha256": hashlib.sha256, "sha384": hashlib.sha384, "sha512": hashlib.sha512}


class KeyFormatError(Exception):
    """A call that has no key; `kind` is the error kind of the vectors file."""

    def __init__(self, kind: str, detail: str) -> None:
        super().__init__(f"{kind}: {detail}")
        self.kind = kind


def has_unsafe_integer(value: object) -> bool:
    """Whether `value` holds an integer that rfc8785 refuses (beyond +/-(2^53-1))."""
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return abs(value) > MAX_SAFE_INTEGER
    if isinstance(value, list):
        return any(has_unsafe_integer(v) for v in value)
    if isinstance(value, dict):
        return any(has_unsafe_integer(v) for v in value.values())
    return False


def strategy_layout(case: dict) -> tuple[str, bool, bool, bool]:
    """(algorithm, include_user, include_session, key_fields_required) by the strategy rules."""
    strategy = case["strategy"]
    if strategy == "default":
        layout = ("sha256", True, True, False)
    elif strategy == "fields":
        layout = ("sha256", False, False, True)
    elif strategy == "hash":
        layout = (case["algorithm"], case["include_user"], case["include_session"], False)
    else:
        raise ValueError(f"unknown strategy {strategy!r}")
    stated = (case["algorithm"], case["include_user"], case["include_session"])
    if stated != layout[:3]:
        raise ValueError(f"the case states {stated} but strategy {strategy!r} means {layout[:3]}")
    return layout


def select_arguments(case: dict, key_fields_required: bool) -> dict:
    """The "args" member: the key fields if any are configured, else all (else an error)."""
    args = case["args"]
    if not isinstance(args, dict):
        raise KeyFormatError("arguments_not_object", f"args is {type(args).__name__}")
    key_fields = case.get("key_fields") or []
    if not key_fields:
        if key_fields_required:
            raise KeyFormatError("no_key_fields", "the fields strategy needs key fields")
        return dict(args)
    for name in key_fields:
        if name not in args:
            raise KeyFormatError("missing_key_field", name)
    for name in key_fields:
        if args[name] is None or args[name] == "":
            raise KeyFormatError("empty_key_field", name)
    return {name: args[name] for name in key_fields}


def build_envelope(case: dict) -> tuple[dict, str]:
    """The envelope of key format v1 for this case, and the digest algorithm."""
    if case["tool"] == "":
        raise KeyFormatError("empty_tool_id", "the tool id is empty")
    algorithm, include_user, include_session, required = strategy_layout(case)
    context = case["context"]
    envelope: dict = {
        "v": 1,
        "tool": case["tool"],
        "args": select_arguments(case, required),
    }
    if context.get("tenant") is not None:
        envelope["tenant"] = context["tenant"]
    if include_user:
        envelope["user"] = context.get("user")
    if include_session:
        envelope["session"] = context.get("session")
    if "window" in case:
        window, now = case["window"], case["now"]
        envelope["window"] = now - now % window
    return envelope, algorithm


def check_case(case: dict) -> tuple[str, str]:
    """("pass" | "fail" | "skip", message)."""
    try:
        envelope, algorithm = build_envelope(case)
    except KeyFormatError as error:
        if case.get("error") == error.kind:
            return "pass", ""
        return "fail", f"the rules give error {error.kind!r}, the file says {case.get('error') or 'a key'}"
    if "error" in case:
        return "fail", f"the file expects error {case['error']!r}, the rules give a key"
    if has_unsafe_integer(envelope):
        return "skip", "holds an integer beyond +/-(2^53-1), which rfc8785 rejects"
    canonical = rfc8785.dumps(envelope)
    problems = []
    if canonical != case["canonical"].encode("utf-8"):
        problems.append(
            f"canonical differs\n    expected: {case['canonical']!r}\n"
            f"    rfc8785:  {canonical.decode('utf-8')!r}"
        )
    key = DIGESTS[algorithm](canonical).hexdigest()
    if key != case["key"]:
        problems.append(f"key differs\n    expected: {case['key']}\n    hashlib:  {key}")
    return ("fail", "; ".join(problems)) if problems else ("pass", "")


def check_custom_key(case: dict) -> tuple[str, str]:
    key = case["key"]
    valid = (
        0 < len(key.encode("utf-8")) <= MAX_CUSTOM_KEY_BYTES
        and not any(unicodedata.category(ch) == "Cc" for ch in key)
    )
    expected_valid = "error" not in case
    if valid == expected_valid:
        return "pass", ""
    return "fail", f"the rules say {'valid' if valid else 'invalid'}, the file says {case.get('error') or 'valid'}"


def main(argv: list[str]) -> int:
    path = Path(argv[1]) if len(argv) > 1 else Path(__file__).with_name("keys-v1.json")
    with path.open(encoding="utf-8") as f:
        data = json.load(f)
    if data.get("version") != 1:
        print(f"{path}: not a key format v1 vectors file")
        return 1
    counts = {"pass": 0, "fail": 0, "skip": 0}
    checks = [(c, check_case) for c in data["cases"]]
    checks += [(c, check_custom_key) for c in data.get("custom_keys", [])]
    for case, check in checks:
        try:
            outcome, message = check(case)
        except Exception as error:  # a malformed case is a failure, not a crash
            outcome, message = "fail", f"{type(error).__name__}: {error}"
        counts[outcome] += 1
        if outcome == "fail":
            print(f"FAIL {case['name']}: {message}")
        elif outcome == "skip":
            print(f"skip {case['name']}: {message}")
    if len(data["cases"]) < 45:
        print(f"FAIL only {len(data['cases'])} cases, at least 45 expected")
        counts["fail"] += 1
    print(f"{counts['pass']} passed, {counts['fail']} failed, {counts['skip']} skipped")
    return 1 if counts["fail"] else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
