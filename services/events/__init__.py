"""The event backbone: the Stage's custom EventBridge bus and the canonical event contracts."""
