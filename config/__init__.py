"""The deployment as typed data (deployment.py) and how it is read from CDK context (loading.py)."""
