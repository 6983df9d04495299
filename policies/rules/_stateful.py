"""Resource types that hold data a deletion would destroy."""

STATEFUL_TYPES = frozenset(
    {
        "AWS::DynamoDB::Table",
        "AWS::DynamoDB::GlobalTable",
        "AWS::S3::Bucket",
        "AWS::KMS::Key",
        "AWS::Logs::LogGroup",
        "AWS::Events::Archive",
        "AWS::Backup::BackupVault",
        "AWS::SecretsManager::Secret",
    }
)
