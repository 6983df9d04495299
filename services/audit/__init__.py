"""The audit trail: every platform event written to a DynamoDB table by an Express workflow."""
