"""The command-line app: Hydra configs, datasets and the build step. The core never imports it."""
