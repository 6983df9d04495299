"""Post-deploy verification: one traffic driver for a deployed Stage and for the local rehearsal.

The driver builds signed webhooks with the providers' own `sample_request`/`sign`, sends them
through a transport (HTTPS to the deployed API, or the rehearsal's rendering of the API's
request templates), and reads the outcome where the Stage records it: the audit table and the
dead-letter queues. The Stage is found from its CloudFormation outputs, read from its stack as the
verification role (or `CFN_<OutputKey>` environment variables).
"""
