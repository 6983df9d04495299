"""The read-only role post-deploy tests assume in each Stage."""
