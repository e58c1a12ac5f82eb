"""Configuration: one class per run mode, read from the environment by strict parsers."""

from config.settings import ConfigError, load_config

__all__ = ["ConfigError", "load_config"]
