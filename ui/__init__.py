"""The Gradio chat UI. ``create_app()`` builds it; ``launch()`` serves it."""

__all__ = ["create_app", "launch"]


def create_app(*args, **kwargs):
    from ui.app import create_app as _create_app

    return _create_app(*args, **kwargs)


def launch(*args, **kwargs):
    from ui.app import launch as _launch

    return _launch(*args, **kwargs)
