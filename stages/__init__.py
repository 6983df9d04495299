"""The application Stage, instantiated once per deployment environment."""
