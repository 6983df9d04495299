"""The delivery pipeline: deployment config model, pipeline stack, operator tooling."""
