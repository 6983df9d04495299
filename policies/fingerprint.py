"""Content fingerprints: an acknowledgement holds only for the content that was reviewed.

An entry's `fingerprint` is the sha256 prefix of the relevant properties of every resource it
acknowledges (by construct path); a secrets check hashes only what it reads (a function's
Environment), others every property but asset locations, which change with each build.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from typing import Any

LENGTH = 16
FORMAT = re.compile(rf"^[0-9a-f]{{{LENGTH}}}$")
# Rules whose acknowledgement must carry a fingerprint: a secret added later must re-surface.
REQUIRED = frozenset({"Checkov::CKV_AWS_45", "Checkov::CKV_AWS_46"})
# Rule -> the properties it judges (default: all but IGNORED).
RELEVANT: Mapping[str, tuple[str, ...]] = {
    "Checkov::CKV_AWS_45": ("Environment",),
    "Checkov::CKV_AWS_46": ("UserData",),
}
IGNORED = frozenset({"Code", "Content", "SourceObjectKey"})  # asset hashes: rebuilt every change
# Namespaces whose findings are judged on cdk.out, where the resource content is at hand.
# (Platform findings are acknowledged inside cdk synth, which does not check fingerprints yet:
# a Platform entry with one is refused rather than silently not checked.)
NAMESPACES = frozenset({"Checkov", "CfnLint", "Parliament"})


def relevant(rule: str, properties: Mapping[str, Any]) -> dict[str, Any]:
    keys = RELEVANT.get(rule)
    if keys is not None:
        return {k: properties[k] for k in keys if k in properties}
    return {k: v for k, v in properties.items() if k not in IGNORED}


def fingerprint(rule: str, resources: Mapping[str, Mapping[str, Any]]) -> str:
    """The fingerprint of `resources` (construct path -> template resource) for `rule`."""
    document = {
        path: relevant(rule, body.get("Properties", {})) for path, body in resources.items()
    }
    text = json.dumps(document, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:LENGTH]
