"""The operator CLI: see where a release is, read its security review, approve or reject it."""
