"""The Training panel's two launch forms: a new `infiniscape train` run, and any command as a run
(an official StyleGAN3 / ALIS / INR-GAN / InfinityGAN checkout's train.py). They only edit their
form and call the panel's start actions."""

from __future__ import annotations

import shlex
from pathlib import Path

from imgui_bundle import imgui

from infiniscape.command_runs import CommandForm
from infiniscape.training_runs import OPTIONS, TrainForm, help_text, value_type

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
        imgui.set_next_item_width(w)
        _, f.data = imgui.input_text_with_hint("data", "folder, .zip or procedural", f.data)
        imgui.set_item_tooltip(help_text("data"))
        imgui.same_line()
        if imgui.small_button("procedural"):
            f.data = "procedural"
        imgui.set_next_item_width(w)
        _, f.config = imgui.input_text_with_hint("config", "name or .yaml", f.config)
        imgui.set_item_tooltip(help_text("config"))
        imgui.same_line()
        if imgui.small_button("built-in..."):
            imgui.open_popup("training_configs")
        if imgui.begin_popup("training_configs"):
            for name in p.studio.builtin_models:
                if imgui.selectable(name, name == f.config)[0]:
                    f.config = name
            imgui.end_popup()
        for name, layout in MAIN.items():
            option_input(f, name, w, *layout)
        if imgui.tree_node("more options##training"):
            for name, layout in MORE.items():
                option_input(f, name, w, *layout)
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


# The New run form's layout: option -> (label, step, fast step, lowest value, note beside it). Types,
# defaults, choices and help (each input's tooltip) come from TrainOptions (train/options.py).
MAIN = {"resolution": ("resolution", 16, 64, 0, ""), "batch": ("batch", 1, 8, 1, ""),
        "loss": ("loss", 0, 0, None, "projected: converges faster"),
        "kimg": ("kimg", 1.0, 100.0, 0.001, ""), "snapshot_kimg": ("snapshot kimg", 1.0, 10.0, 0.001, ""),
        "seed": ("seed", 1, 100, None, "")}
MORE = {"lr": ("lr", 0.0, 0.0, None, ""), "r1_gamma": ("R1 gamma", 0.0, 0.0, None, ""),
        "y_extent": ("y extent", 256, 1024, 0, "procedural: frames at every height"),
        "scene_height": ("scene height", 16, 64, 0, ""), "tick_kimg": ("stats kimg", 0.0, 0.0, 0.001, ""),
        "tick_seconds": ("stats seconds", 0.0, 0.0, 0.1, ""), "device": ("device", 0, 0, None, "")}


def option_input(form, name: str, width: float, label: str, step, fast, lowest, note: str) -> None:
    """One option of the form, drawn after its type: a combo where TrainOptions lists its values, else
    a number. An option whose default is None (auto) shows as 0 (integers) or < 0 (floats)."""
    value, kind, meta = getattr(form, name), value_type(name), OPTIONS[name].metadata
    auto = "None" in OPTIONS[name].type
    imgui.set_next_item_width(width)
    if meta["hints"]:
        if imgui.begin_combo(label, value):
            for choice in meta["hints"]:
                if imgui.selectable(choice, choice == value)[0]:
                    value = choice
            imgui.end_combo()
    elif kind is int:
        _, value = imgui.input_int(label, 0 if value is None else value, step, fast)
        value = value if lowest is None else max(lowest, value)
        value = None if auto and value <= 0 else value
        note = note or ("0: auto" if auto else "")
    else:
        _, value = imgui.input_float(label, -1.0 if value is None else value, step, fast, "%g")
        value = value if lowest is None else max(lowest, value)
        value = None if auto and value < 0 else value
        note = note or ("< 0: auto" if auto else "")
    imgui.set_item_tooltip(help_text(name))
    setattr(form, name, value)
    if note:
        imgui.same_line()
        imgui.text_disabled(note)


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
