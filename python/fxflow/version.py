"""The fxflow version, below every module that records it (sweep cache keys) so none imports the package."""

__version__ = "0.1.0"
