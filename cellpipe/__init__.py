"""cellpipe: turn a tagged Jupyter notebook into a pipeline."""

try:
    from ._version import __version__
except ImportError:  # running from a source tree that was never built
    __version__ = "dev"


def _jupyter_labextension_paths():
    return [{"src": "labextension", "dest": "cellpipe"}]
