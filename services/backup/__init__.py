"""AWS Backup of the Stage's tables, in environments that retain data."""
