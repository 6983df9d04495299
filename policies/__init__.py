"""Policy packs, the acknowledgements registry and the reviewer's reports."""
