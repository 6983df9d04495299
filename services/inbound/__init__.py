"""Inbound messaging: provider webhooks -> API Gateway -> SQS -> per-provider processors.

This package is bundled into the processors' Lambda asset: keep it free of CDK imports
(the construct lives in `services.inbound.construct`, which is not bundled).
"""
