"""ganrepro: a pipeline-orchestrated reproducibility workflow for GAN research."""

__version__ = "0.1.0"
