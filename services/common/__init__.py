"""Building blocks shared by the messaging services (secure-by-default queues, keys)."""
