"""The output-name contract of a Stage: the Messaging stack writes these CloudFormation outputs;
the verification driver (from the deployed stack) and the rehearsal read them.

Pure Python, so readers that never synthesize (verify, rehearsal) import it without CDK.
"""

from __future__ import annotations

API_URL = "ApiUrl"
EVENT_BUS_NAME = "EventBusName"
MESSAGES_TABLE = "MessagesTable"
IDEMPOTENCY_TABLE = "IdempotencyTable"
MEDIA_BUCKET = "MediaBucket"
AUDIT_TABLE = "AuditTable"
CUSTOMER_CARE_QUEUE_URL = "CustomerCareQueueUrl"
ALARM_TOPIC_ARN = "AlarmTopicArn"
VERIFICATION_ROLE_ARN = "VerificationRoleArn"

# One of each per provider, named <Provider><suffix> (provider_output builds the name).
QUEUE_URL = "QueueUrl"
DEAD_LETTER_QUEUE_URL = "DeadLetterQueueUrl"
SECRET_NAME = "SecretName"  # noqa: S105 - an output name, not a secret
PROCESSOR = "Processor"
PROVIDER_SUFFIXES = (QUEUE_URL, DEAD_LETTER_QUEUE_URL, SECRET_NAME, PROCESSOR)
# A provider in a nested stack of its own (issue 17) puts only what the post-deploy driver
# reads in the Stage's outputs; its QueueUrl and Processor are outputs of its nested stack.
STAGE_PROVIDER_SUFFIXES = (DEAD_LETTER_QUEUE_URL, SECRET_NAME)


def provider_output(provider: str, suffix: str) -> str:
    """'twilio', 'QueueUrl' -> 'TwilioQueueUrl'."""
    return f"{provider.capitalize()}{suffix}"


def provider_of(output: str, suffix: str) -> str | None:
    """'TwilioQueueUrl', 'QueueUrl' -> 'twilio'; None when the name has another suffix."""
    if not output.endswith(suffix) or output == suffix:
        return None
    return output.removesuffix(suffix).lower()
