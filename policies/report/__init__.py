"""The security reviewer's report: what the policy gate found, accepted and why, per environment.

Built from a synthesized cloud assembly alone (`cdk.out`: templates, manifests,
`validation-report.json`, scanner results), so any two synth outputs can be compared.
"""
