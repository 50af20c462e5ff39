"""The Training panel's two launch forms: a new `infiniscape train` run, and any command as a run
(an official StyleGAN3 / ALIS / INR-GAN / InfinityGAN checkout's train.py). They only edit their
form and call the panel's start actions."""

from __future__ import annotations

import shlex
from pathlib import Path

from imgui_bundle import imgui

from infiniscape.command_runs import CommandForm
from infiniscape.training_runs import TrainForm

DEVICES = ("auto", "cpu", "cuda")
LOSSES = ("stylegan2", "projected")  # train --loss
EXAMPLE = "python train.py --outdir=~/training-runs --cfg=stylegan3-t --data=~/datasets/afhq.zip --gpus=1 " \
          "--batch=32 --gamma=8.2"


class TrainFormTab:
    """New run: the options of `infiniscape train`."""

    def __init__(self, panel):
        self.panel = panel
        self._preview: tuple = (None, None)

    def out_preview(self) -> Path | None:
        """The run folder Start would create (the folder is listed again only when the form changes)."""
        f = self.panel.form
        key = (f.root, f.config, f.data, f.name, len(self.panel.run_list))
        if self._preview[0] != key:
            self._preview = (key, guard(f.out_dir))
        return self._preview[1]

    def __call__(self) -> None:
        p = self.panel
        em = imgui.get_font_size()
        f = p.form
        w = -em * 7

        def number(label: str, value: float, lowest: float | None = None, step: float = 0.0,
                   fast: float = 0.0) -> float:
            imgui.set_next_item_width(w)
            _, value = imgui.input_float(label, value, step, fast, "%g")
            return value if lowest is None else max(lowest, value)

        def integer(label: str, value: int, lowest: int, step: int = 1, fast: int = 0, hint: str = "") -> int:
            imgui.set_next_item_width(w)
            _, value = imgui.input_int(label, value, step, fast)
            if hint:
                imgui.same_line()
                imgui.text_disabled(hint)
            return max(lowest, value)

        imgui.set_next_item_width(w)
        _, f.data = imgui.input_text_with_hint("data", "folder, .zip or procedural", f.data)
        imgui.same_line()
        if imgui.small_button("procedural"):
            f.data = "procedural"
        imgui.set_next_item_width(w)
        _, f.config = imgui.input_text_with_hint("config", "name or .yaml", f.config)
        imgui.same_line()
        if imgui.small_button("built-in..."):
            imgui.open_popup("training_configs")
        if imgui.begin_popup("training_configs"):
            for name in p.studio.builtin_models:
                if imgui.selectable(name, name == f.config)[0]:
                    f.config = name
            imgui.end_popup()
        f.resolution = integer("resolution", f.resolution, 0, 16, 64, "0: tile")
        f.batch = integer("batch", f.batch, 1, 1, 8)
        imgui.set_next_item_width(w)
        if imgui.begin_combo("loss", f.loss):
            for name in LOSSES:
                if imgui.selectable(name, name == f.loss)[0]:
                    f.loss = name
            imgui.end_combo()
        imgui.same_line()
        imgui.text_disabled("projected: converges faster")
        f.kimg = number("kimg", f.kimg, 0.001, 1.0, 100.0)
        f.snapshot_kimg = number("snapshot kimg", f.snapshot_kimg, 0.001, 1.0, 10.0)
        imgui.set_next_item_width(w)
        _, f.seed = imgui.input_int("seed", f.seed)
        if imgui.tree_node("more options##training"):
            f.lr = number("lr", f.lr)
            f.r1_gamma = number("R1 gamma", f.r1_gamma)
            imgui.same_line()
            imgui.text_disabled("< 0: auto")
            f.y_extent = integer("y extent", f.y_extent, 0, 256, 1024, "procedural: frames at every height")
            f.scene_height = integer("scene height", f.scene_height, 0, 16, 64, "0: the frame size")
            f.tick_kimg = number("stats kimg", f.tick_kimg, 0.001)
            f.tick_seconds = number("stats seconds", f.tick_seconds, 0.1)
            imgui.set_next_item_width(w)
            if imgui.begin_combo("device", f.device):
                for d in DEVICES:
                    if imgui.selectable(d, d == f.device)[0]:
                        f.device = d
                imgui.end_combo()
            imgui.tree_pop()
        imgui.set_next_item_width(w)
        _, f.root = imgui.input_text("runs folder", f.root)
        imgui.set_next_item_width(w)
        out = self.out_preview()
        _, f.name = imgui.input_text_with_hint("name", out.name if out else "", f.name)
        if p.button("Start##training"):
            p.start()
        imgui.same_line()
        if imgui.button("Reset##training"):
            p.form = TrainForm(**p.defaults)
        if out is not None:
            argv = guard(lambda: f.argv(out))
            if argv:
                imgui.text_wrapped("$ infiniscape " + shlex.join(argv[3:]))


class CommandFormTab:
    """Command: any command line, its working directory and the directory it writes."""

    def __init__(self, panel):
        self.panel = panel

    def __call__(self) -> None:
        p = self.panel
        em = imgui.get_font_size()
        c = p.command
        w = -em * 7
        imgui.text_wrapped("Run any training command (e.g. an official StyleGAN3 checkout's train.py) and "
                           "watch the directory it writes. Stop sends SIGTERM.")
        imgui.set_next_item_width(w)
        _, c.command = imgui.input_text_with_hint("command", "python train.py --outdir=...", c.command)
        imgui.same_line()
        if imgui.small_button("example"):
            c.command = EXAMPLE
        imgui.set_next_item_width(w)
        _, c.cwd = imgui.input_text_with_hint("working dir", "the studio's", c.cwd)
        imgui.set_next_item_width(w)
        _, c.watch = imgui.input_text_with_hint("watch", "its --outdir", c.watch)
        imgui.set_next_item_width(w)
        _, p.form.root = imgui.input_text("runs folder##command", p.form.root)
        c.root = p.form.root  # the command's own folder (console, exit status) goes with the other runs
        imgui.set_next_item_width(w)
        _, c.name = imgui.input_text_with_hint("name##command", "NNNNN-command-<script>", c.name)
        if p.button("Start command##training"):
            p.start_command()
        imgui.same_line()
        if imgui.button("Clear##command"):
            p.command = CommandForm(root=p.form.root)
        argv = guard(c.argv)
        if argv:
            watch = guard(c.watch_dir)
            imgui.text_disabled(f"watches {watch}" if watch else "watches nothing: only its console is shown")


def guard(fn):
    try:
        return fn()
    except Exception:  # noqa: BLE001 - a half-typed form shows no preview, never an error
        return None
