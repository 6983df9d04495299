"""parliament's findings: resource mismatches split into named actions and wildcard expansions."""

from __future__ import annotations

from policies.scanners.parliament import split_findings


def test_resource_mismatch_is_split_into_named_actions_and_wildcard_expansions() -> None:
    document = {"Statement": [{"Action": ["s3:List*", "s3:GetObject"], "Resource": "x"}]}
    raw = [
        {
            "issue": "RESOURCE_MISMATCH",
            "severity": "MEDIUM",
            "title": "No resources match for the given action",
            "detail": [
                {"action": "s3:GetObject", "required_format": "arn:*:s3:::*/*"},
                {"action": "s3:ListAllMyBuckets", "required_format": "*"},
                {"action": "s3:ListJobs", "required_format": "*"},
            ],
            "location": {},
        }
    ]
    out = split_findings(raw, document)
    assert [(rule, severity) for rule, severity, _ in out] == [
        ("RESOURCE_MISMATCH[s3:GetObject]", "MEDIUM"),
        ("RESOURCE_MISMATCH[s3:List*]", "LOW"),
    ]
    assert "s3:ListAllMyBuckets, s3:ListJobs" in out[1][2]
