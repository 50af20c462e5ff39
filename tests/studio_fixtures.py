"""Shared setup of the studio and window tests: studios built headless (on the tiny model unless told
otherwise), torch held to one thread, and an X display for the real-window tests. conftest.py makes
the fixtures visible to every test module."""

from __future__ import annotations

import os
import shutil
import subprocess
from contextlib import ExitStack, contextmanager

import pytest


@contextmanager
def torch_threads(n: int = 1):
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def one_torch_thread():
    """Tiny tiles gain nothing from intra-op threads, and on a busy 2-core machine OpenMP barriers make
    each render many times slower; the studio itself keeps a core for its UI thread. A module asks for
    it with ``pytestmark = pytest.mark.usefixtures("one_torch_thread")``."""
    with torch_threads(1):
        yield


def no_gui(reason: str):
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"GUI test cannot run in CI: {reason}")  # a skipped GUI test hides a broken studio
    pytest.skip(reason)


@pytest.fixture(scope="module")
def display():
    """An X display: the session's own, or a private Xvfb started for these tests."""
    if os.environ.get("DISPLAY"):
        yield os.environ["DISPLAY"]
        return
    xvfb = shutil.which("Xvfb")
    if not xvfb:
        no_gui("no DISPLAY and no Xvfb (apt-get install xvfb)")
    r, w = os.pipe()
    proc = subprocess.Popen([xvfb, "-displayfd", str(w), "-screen", "0", "1280x800x24", "-nolisten", "tcp"],
                            pass_fds=(w,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.close(w)
    with os.fdopen(r) as f:
        number = f.readline().strip()
    if not number:
        proc.kill()
        no_gui("Xvfb did not start")
    yield f":{number}"
    proc.terminate()
    proc.wait(10)


@pytest.fixture
def make_studio(gui):
    """``make_studio(model="tiny", *, cache_mb, panels=None, loaded=True, first_frame=True,
    one_thread=False, **studio_kw)``: a Studio driven headless (no window, no GL) in the ``gui`` imgui
    context, closed after the test.

    panels: None keeps the studio's own choice, "all" opens every panel (all of them must draw), a
    title opens only that panel. loaded: frame until the model is loaded (False: return at once, for
    setup that must come before the first frame). first_frame: then draw one more frame (the first
    frame of a loaded world centres the view). one_thread: torch on one thread while the studio lives.
    """
    from imgui_driver import frame, frames_until

    from infiniscape.studio import Studio

    with ExitStack() as stack:
        def make(model: str = "tiny", *, cache_mb: int, panels: str | None = None, loaded: bool = True,
                 first_frame: bool = True, one_thread: bool = False, **studio_kw) -> Studio:
            if one_thread:
                stack.enter_context(torch_threads(1))
            s = Studio(model=model, use_gl=False, cache_bytes=cache_mb << 20, **studio_kw)
            stack.callback(s.close)
            if panels is not None:
                s.panels = [(t, w, panels in ("all", t)) for t, w, _ in s.panels]
            if loaded:
                frames_until(s, lambda: s.world is not None)
                if first_frame:
                    frame(s)
            return s

        yield make


@pytest.fixture
def studio(make_studio):
    """The studio on tiny with every panel open, loaded and drawn once."""
    return make_studio(cache_mb=64, panels="all")
