"""The browser chat over the articles (Gradio, an optional extra).

``create_app(settings)`` builds the app without serving it; ``launch(settings, host, port,
auth)`` serves it. Importing this package does not import gradio.
"""

__all__ = ["create_app", "launch"]


def create_app(*args, **kwargs):
    from ui.app import create_app as _create_app

    return _create_app(*args, **kwargs)


def launch(*args, **kwargs):
    from ui.app import launch as _launch

    return _launch(*args, **kwargs)
