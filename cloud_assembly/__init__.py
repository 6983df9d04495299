"""The one jsii-free reader of a synthesized cloud assembly (cdk.out): manifests, nested Stage
assemblies, templates with their environment, construct paths and intrinsic resolution."""
