"""Generation controls of the Model panel: truncation, noise, class, style mixing and the position on the
seed plane (the StyleGAN3 visualizer's trunc/noise, stylemix and latent widgets).

They write scene-wide knobs into ``Intents.settings``; the studio swaps in the world with those settings
and redraws every tile. Sliders and drags apply when released (a CPU frame can take seconds), choices
at once. Each knob shows only for models that honour it."""

from __future__ import annotations

from imgui_bundle import imgui

from infiniscape.intents import NOISE_MODES, StyleMix

SEED_PLANE_FAMILIES = ("stylegan2", "stylegan3", "inrgan")  # official nets drawn from the seed plane
OFFICIAL_NOISE = tuple((net, mode) for mode, net in NOISE_MODES.items())  # (label: the network's name, mode)
NATIVE_NOISE = (("world", "world"), ("off", "off"))
MIX_SEED = 1000  # the visualizer's default style-mixing seed


class GenerationControls:
    def __init__(self, studio):
        self.studio = studio
        # screen rectangles (x0, y0, x1, y1) of the last drawn controls, by name (tests click them)
        self.rects: dict[str, tuple[float, float, float, float]] = {}
        self._world = None  # the world the values below were read from
        self.psi, self.class_idx = 1.0, 0
        self.mix_on, self.mix_seed, self.mix_layers = False, MIX_SEED, [0, 0]
        self.offset = [0.0, 0.0]

    def __call__(self, show: bool = True) -> None:
        s = self.studio
        world, info = s.world, s.model_info
        if world is None or not info:
            return
        scene = world.scene
        if world is not self._world:  # another model, scene or settings: show what it renders
            self._read(scene, info)
        changes: dict = {}
        c_dim = int(info.get("c_dim", 0))
        if c_dim and scene.class_idx is None:
            changes["class_idx"] = 0  # a conditional network needs a class to draw anything
        if show:
            self._draw(scene, info, c_dim, changes)
        if changes:
            s.intents.settings = {**(s.intents.settings or {}), **changes}

    def _read(self, scene, info: dict) -> None:
        self._world = self.studio.world
        self.psi = float(scene.truncation)
        self.class_idx = 0 if scene.class_idx is None else int(scene.class_idx)
        mix = scene.style_mix
        self.mix_on = mix is not None
        if mix is not None:
            self.mix_seed, self.mix_layers = int(mix.seed), [int(mix.lo), int(mix.hi)]
        elif self.mix_layers == [0, 0]:
            n = int(info.get("num_ws", 0))
            self.mix_layers = [n // 2, n]  # a useful first range: the fine styles
        self.offset = [float(v) for v in scene.seed_offset]

    def _draw(self, scene, info: dict, c_dim: int, changes: dict) -> None:
        seed_plane = info.get("family") in SEED_PLANE_FAMILIES
        width = self._field_width()
        _, self.psi = imgui.slider_float("truncation", self.psi, -1.0, 2.0, "psi %.2f")
        self._hit("truncation", width)
        if imgui.is_item_deactivated_after_edit():
            changes["truncation"] = float(self.psi)

        if info.get("capabilities", {}).get("noise"):
            options = OFFICIAL_NOISE if seed_plane else NATIVE_NOISE
            modes = [mode for _, mode in options]
            current = modes.index(scene.noise_mode) if scene.noise_mode in modes else 0
            width = self._field_width()
            at = imgui.get_cursor_screen_pos()  # an open popup becomes the last item: note the combo first
            self.rects["noise"] = (at.x, at.y, at.x + width, at.y + imgui.get_frame_height())
            opened = imgui.begin_combo("noise", options[current][0])
            if opened:
                for i, (label, mode) in enumerate(options):
                    if imgui.selectable(label, i == current)[0] and i != current:
                        changes["noise_mode"] = mode
                    self._hit(f"noise {label}")
                imgui.end_combo()

        if c_dim:
            width = self._field_width()
            _, self.class_idx = imgui.slider_int("class", self.class_idx, 0, c_dim - 1)
            self._hit("class", width)
            if imgui.is_item_deactivated_after_edit():
                changes["class_idx"] = int(self.class_idx)

        if not seed_plane:
            return
        self._seed_plane(changes)
        self._style_mix(int(info.get("num_ws", 0)), changes)

    def _seed_plane(self, changes: dict) -> None:
        """The seed grid's (or canvas latent's) position: seed x + 100 y; fractions blend neighbours."""
        width = self._field_width()
        _, self.offset = imgui.drag_float2("seed x, y", self.offset, 0.01, format="%.2f")
        self._hit("seed x, y", width)
        if imgui.is_item_deactivated_after_edit():
            changes["seed_offset"] = (float(self.offset[0]), float(self.offset[1]))
        snapped = [float(round(v)) for v in self.offset]
        imgui.begin_disabled(snapped == self.offset)
        if imgui.small_button("Snap"):
            self.offset = snapped
            changes["seed_offset"] = tuple(snapped)
        self._hit("Snap")
        imgui.end_disabled()
        imgui.same_line()
        if imgui.small_button("Reset##generation"):
            self.psi, self.offset, self.mix_on = 1.0, [0.0, 0.0], False
            changes.update(truncation=1.0, seed_offset=(0.0, 0.0), style_mix=None, noise_mode="world")
        self._hit("Reset")

    def _style_mix(self, num_ws: int, changes: dict) -> None:
        """A second seed whose ws replace layers [first, end)."""
        if num_ws <= 0:
            return
        em = imgui.get_font_size()
        was_on, old_seed = self.mix_on, self.mix_seed
        _, self.mix_on = imgui.checkbox("style mix", self.mix_on)
        self._hit("style mix")
        imgui.same_line()
        imgui.set_next_item_width(em * 7)
        _, self.mix_seed = imgui.input_int("##mix_seed", self.mix_seed, 1, 10,
                                           imgui.InputTextFlags_.enter_returns_true)
        self._hit("mix seed")
        imgui.begin_disabled(not self.mix_on)
        width = self._field_width()
        _, layers = imgui.slider_int2("layers", self.mix_layers, 0, num_ws)
        self._hit("layers", width)
        self.mix_layers = [min(layers), max(layers)]
        released = imgui.is_item_deactivated_after_edit()
        imgui.end_disabled()
        # the checkbox and the seed apply at once, the layer range when released
        if self.mix_on != was_on or (self.mix_on and (self.mix_seed != old_seed or released)):
            lo, hi = self.mix_layers
            changes["style_mix"] = StyleMix(int(self.mix_seed) % 2 ** 32, lo, hi) if self.mix_on else None

    def _field_width(self) -> float:
        """Width of the next slider's frame (its label goes to the right of it)."""
        width = imgui.get_content_region_avail().x - imgui.get_font_size() * 6
        imgui.set_next_item_width(width)
        return width

    def _hit(self, name: str, width: float | None = None) -> None:
        """Remember the last item's rectangle (its frame only, without the label, given `width`)."""
        a, b = imgui.get_item_rect_min(), imgui.get_item_rect_max()
        self.rects[name] = (a.x, a.y, b.x if width is None else a.x + width, b.y)

