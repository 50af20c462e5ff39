"""The desktop window: glfw + OpenGL 3.3 core + imgui-bundle's Python backend, main loop, screenshots."""

from __future__ import annotations

import os
import time
from pathlib import Path

from infiniscape.models.errors import UserError

IDLE_FPS = 10  # redraws per second at least while nothing moves (panels with live numbers)
ACTIVE_S = 0.5  # full frame rate this long after the last motion or input
NO_DISPLAY_HINT = "use `infiniscape render` to render images without a window"


class DisplayUnavailable(UserError):
    """No display to open the studio on; the CLI prints it as one line and exits 2."""


def check_display() -> None:
    if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
        raise DisplayUnavailable(f"no display (DISPLAY and WAYLAND_DISPLAY are unset): {NO_DISPLAY_HINT}")


class StudioWindow:
    """One glfw window with a GL context that we own; imgui draws into it."""

    def __init__(self, width: int = 1280, height: int = 800, title: str = "infiniscape",
                 font_size: float = 15.0):
        check_display()
        import glfw

        errors: list[str] = []
        glfw.ERROR_REPORTING = "ignore"  # failures are reported below as one line, never an abort
        glfw.set_error_callback(lambda code, text: errors.append(
            text.decode(errors="replace") if isinstance(text, bytes) else str(text)))
        if not glfw.init():
            raise DisplayUnavailable(f"cannot use the display ({_last(errors)}): {NO_DISPLAY_HINT}")
        glfw.window_hint(glfw.CONTEXT_VERSION_MAJOR, 3)
        glfw.window_hint(glfw.CONTEXT_VERSION_MINOR, 3)
        glfw.window_hint(glfw.OPENGL_PROFILE, glfw.OPENGL_CORE_PROFILE)
        glfw.window_hint(glfw.OPENGL_FORWARD_COMPAT, True)
        glfw.window_hint(glfw.VISIBLE, False)  # shown after the first real frame, not as a black box
        self.window = glfw.create_window(width, height, title, None, None)
        if not self.window:
            glfw.terminate()
            raise DisplayUnavailable(f"cannot open an OpenGL 3.3 window ({_last(errors)}): {NO_DISPLAY_HINT}")
        glfw.make_context_current(self.window)
        self.glfw = glfw
        self.vsync = False
        glfw.swap_interval(0)

        from imgui_bundle import imgui, implot
        from imgui_bundle.python_backends.glfw_backend import GlfwRenderer

        from .fonts import load_ui_font

        imgui.create_context()
        implot.create_context()
        imgui.get_io().set_ini_filename(None)  # the layout is fixed; nothing to remember
        load_ui_font(font_size)
        self.impl = GlfwRenderer(self.window)
        self.dropped: list[str] = []
        self._shown = False
        glfw.set_drop_callback(self.window, lambda _w, paths: self.dropped.extend(paths))

    def run(self, studio, quit_after_frames: int | None = None, screenshot: str | None = None,
            settle_timeout: float = 60.0) -> int:
        """Main loop. Scripted runs stop once ``quit_after_frames`` have passed and every visible
        tile is drawn (at most ``settle_timeout`` s more), saving ``screenshot`` first.

        Frames follow at the FPS limit while something moves (``Studio.animating``) and for
        ``ACTIVE_S`` after, or while finished tiles wait for upload; otherwise the loop sleeps until
        an event, a finished tile or job wakes it (at least ``IDLE_FPS`` times a second), leaving
        the cores to the tile worker."""
        glfw, deadline = self.glfw, None
        previous_wake, studio.wake = studio.wake, glfw.post_empty_event  # thread-safe: ends the wait
        active_until = time.perf_counter() + ACTIVE_S
        try:
            while not glfw.window_should_close(self.window):
                t0 = time.perf_counter()
                fw, fh = self.draw(studio)
                done = False
                if quit_after_frames is not None and studio.frames >= quit_after_frames:
                    deadline = deadline or time.perf_counter() + settle_timeout
                    settled = not studio.loading and studio.canvas.complete() and not studio.jobs.busy()
                    done = settled or time.perf_counter() > deadline
                if done and screenshot:
                    save_screenshot(screenshot, fw, fh)
                self.present()
                if done:
                    break
                active_until = self.pace(studio, t0, active_until)
        finally:
            studio.wake = previous_wake  # no wakes into a window about to close
        return 0

    def pace(self, studio, t0: float, active_until: float) -> float:
        """After a frame that started at ``t0``: record its work, then wait for the next one (the FPS
        limit while active, else until woken). Returns the new end of the active stretch."""
        if studio.intents.vsync != self.vsync:
            self.vsync = studio.intents.vsync
            self.glfw.swap_interval(1 if self.vsync else 0)
        now = time.perf_counter()
        studio.frame_ms.append((now - t0) * 1e3)  # the frame's work, without the wait below
        studio.frame_starts.append(t0)
        if studio.animating():
            active_until = now + ACTIVE_S
        if now < active_until or studio.uploads_waiting():
            spare = 1.0 / max(1, studio.intents.fps_limit) - (now - t0)
            if spare > 0 and not self.vsync:
                time.sleep(spare)
        else:
            self.glfw.wait_events_timeout(1.0 / IDLE_FPS)
        return active_until

    def draw(self, studio) -> tuple[int, int]:
        """Build and draw one frame into the back buffer; returns the framebuffer size."""
        from imgui_bundle import imgui
        from OpenGL import GL

        self.glfw.poll_events()
        self.impl.process_inputs()
        if self.dropped:  # a file dropped on the window opens like one typed in the Model panel
            studio.open_model(self.dropped.pop())
        imgui.new_frame()
        # the sizes process_inputs just read: each glfw size query is an X round trip (ms under load)
        io = imgui.get_io()
        w, h = io.display_size.x, io.display_size.y
        studio.frame(w, h)
        imgui.render()
        scale = io.display_framebuffer_scale
        fw, fh = round(w * scale.x), round(h * scale.y)
        GL.glViewport(0, 0, fw, fh)
        GL.glClearColor(0.12, 0.12, 0.13, 1.0)
        GL.glClear(GL.GL_COLOR_BUFFER_BIT)
        self.impl.render(imgui.get_draw_data())
        return fw, fh

    def present(self) -> None:
        self.glfw.swap_buffers(self.window)
        if not self._shown:
            self.glfw.show_window(self.window)
            self._shown = True

    def close(self) -> None:
        from imgui_bundle import imgui, implot

        self.impl.shutdown()
        implot.destroy_context()
        imgui.destroy_context()
        self.glfw.terminate()


def save_screenshot(path: str, width: int, height: int) -> None:
    """The back buffer as a PNG (read before the swap, so it is exactly this frame)."""
    import numpy as np
    from OpenGL import GL
    from PIL import Image

    GL.glPixelStorei(GL.GL_PACK_ALIGNMENT, 1)
    data = GL.glReadPixels(0, 0, width, height, GL.GL_RGB, GL.GL_UNSIGNED_BYTE)
    img = np.frombuffer(data, np.uint8).reshape(height, width, 3)[::-1]  # GL rows run bottom-up
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(img).save(path)


def _last(errors: list[str]) -> str:
    return errors[-1] if errors else "no reason given"
