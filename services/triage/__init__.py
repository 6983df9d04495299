"""Message triage: sentiment of received texts, routed to customer care or acknowledgement."""
