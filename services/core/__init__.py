"""The Stage's messaging core: the customer-managed key every service encrypts with."""
