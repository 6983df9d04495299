"""Processor runtime bundled into each provider's Lambda function."""
