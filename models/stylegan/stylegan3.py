"""StyleGAN3 generator (Karras et al. 2021, "Alias-Free GAN"), configs T and R.

Written from the paper; names follow the official state dicts (synthesis.input.freqs,
synthesis.L3_36_512.down_filter, ...) so snapshot tensors copy one-to-one. Every layer runs its
nonlinearity through ops.filtered_lrelu (upsample, leaky ReLU, low-pass, downsample), fused on the CPU.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from ...ops import cpu_conv
from ...ops.cpu_kernels import filtered_lrelu  # fused C++ on the CPU, the reference elsewhere
from .mapping import FullyConnectedLayer, MappedGenerator


def _kaiser_beta(numtaps: int, width: float) -> float:
    """Kaiser beta for the attenuation of `numtaps` taps with transition `width` (x Nyquist)."""
    atten = 2.285 * (numtaps - 1) * np.pi * width + 7.95
    if atten > 50:
        return 0.1102 * (atten - 8.7)
    return 0.5842 * (atten - 21) ** 0.4 + 0.07886 * (atten - 21) if atten > 21 else 0.0


def design_lowpass_filter(numtaps: int, cutoff: float, width: float, fs: float, radial: bool = False):
    """Kaiser-windowed low-pass: 1D separable taps, a 2D jinc for `radial`, None for one tap (identity).

    Snapshots store the designed taps, so these only matter for freshly built networks."""
    if numtaps == 1:
        return None
    m = np.arange(numtaps) - (numtaps - 1) / 2
    window = np.kaiser(numtaps, _kaiser_beta(numtaps, width / (fs / 2)))
    if not radial:
        c = cutoff / (fs / 2)
        f = c * np.sinc(c * m) * window
        return torch.as_tensor(f / f.sum(), dtype=torch.float32)
    r = np.hypot(*np.meshgrid(m / fs, m / fs))  # numtaps is even, so r > 0 everywhere
    j1 = torch.special.bessel_j1(torch.from_numpy(2 * cutoff * np.pi * r)).numpy()
    f = j1 / (np.pi * r) * np.outer(window, window)
    return torch.as_tensor(f / f.sum(), dtype=torch.float32)


def modulated_conv2d(x: torch.Tensor, w: torch.Tensor, s: torch.Tensor, demodulate: bool = True,
                     padding: int = 0, input_gain: torch.Tensor | None = None) -> torch.Tensor:
    """Style-modulated convolution [N, I, H, W] -> [N, O, H + 2p - k + 1, ...], one grouped conv.

    Weights and styles are pre-normalised (scales that demodulation cancels) to keep FP16 in range."""
    n, i, h, wd = x.shape
    o, _, kh, kw = w.shape
    assert w.shape[1] == i and s.shape == (n, i), f"x {tuple(x.shape)}, w {tuple(w.shape)}"
    if demodulate:
        w = w * w.square().mean([1, 2, 3], keepdim=True).rsqrt()
        s = s * s.square().mean().rsqrt()
    w = w.unsqueeze(0) * s.reshape(n, 1, i, 1, 1)  # [N, O, I, k, k]
    if demodulate:
        w = w * (w.square().sum(dim=[2, 3, 4]) + 1e-8).rsqrt().reshape(n, o, 1, 1, 1)
    if input_gain is not None:
        w = w * input_gain.expand(n, i).reshape(n, 1, i, 1, 1)
    w = w.reshape(n * o, i, kh, kw).to(x.dtype)
    x = cpu_conv.conv2d(x.reshape(1, n * i, h, wd), w, padding=padding, groups=n)
    return x.reshape(n, o, *x.shape[2:])


class SynthesisInput(torch.nn.Module):
    """Fourier features sin(2 pi (f . x + phase)) on a pixel grid, rotated and translated per sample by w
    and by the user's `transform` (the inverse of the desired output transform), then mixed by a 1x1 map."""

    def __init__(self,
                 w_dim: int,  # width of w
                 channels: int,  # number of Fourier features (= output channels)
                 size,  # output size: int or [width, height] (image plus margins)
                 sampling_rate: float,  # samples per unit length of the output grid
                 bandwidth: float,  # radius of the disc the frequencies are drawn from
                 ):
        super().__init__()
        self.w_dim, self.channels = w_dim, channels
        self.size = np.broadcast_to(np.asarray(size), [2])
        self.sampling_rate, self.bandwidth = sampling_rate, bandwidth
        freqs = torch.randn([channels, 2])
        radii = freqs.square().sum(dim=1, keepdim=True).sqrt()
        freqs = freqs / (radii * radii.square().exp().pow(0.25)) * bandwidth
        self.weight = torch.nn.Parameter(torch.randn([channels, channels]))
        self.affine = FullyConnectedLayer(w_dim, 4, weight_init=0, bias_init=[1, 0, 0, 0])
        self.register_buffer("transform", torch.eye(3, 3))  # inverse transform of the output image
        self.register_buffer("freqs", freqs)
        self.register_buffer("phases", torch.rand([channels]) - 0.5)

    def forward(self, w: torch.Tensor, transform: torch.Tensor | None = None) -> torch.Tensor:
        """w [N, w_dim] -> features [N, channels, height, width]; `transform` [N, 3, 3] replaces the buffer
        per sample (tiles of a canvas in one batch)."""
        n = w.shape[0]
        assert w.shape == (n, self.w_dim), f"w {tuple(w.shape)}"
        user = self.transform.unsqueeze(0) if transform is None else transform.to(self.transform)
        assert user.shape in ((1, 3, 3), (n, 3, 3)), f"transform {tuple(user.shape)}"
        # w predicts a rotation (cos, sin) and a translation; normalising (cos, sin) keeps it a rotation.
        t = self.affine(w)
        t = t / t[:, :2].norm(dim=1, keepdim=True)
        m_r = torch.eye(3, device=w.device).repeat([n, 1, 1])
        m_r[:, 0, 0], m_r[:, 0, 1], m_r[:, 1, 0], m_r[:, 1, 1] = t[:, 0], -t[:, 1], t[:, 1], t[:, 0]
        m_t = torch.eye(3, device=w.device).repeat([n, 1, 1])
        m_t[:, 0, 2], m_t[:, 1, 2] = -t[:, 2], -t[:, 3]
        transforms = m_r @ m_t @ user  # [N, 3, 3]
        # Transforming the sampling grid equals transforming the frequencies (and shifting the phases).
        phases = self.phases.unsqueeze(0) + (self.freqs.unsqueeze(0) @ transforms[:, :2, 2:]).squeeze(2)
        freqs = self.freqs.unsqueeze(0) @ transforms[:, :2, :2]  # [N, C, 2]
        # A user transform may push frequencies past the band limit; fade those out instead of aliasing.
        band = self.sampling_rate / 2 - self.bandwidth
        amplitudes = (1 - (freqs.norm(dim=2) - self.bandwidth) / band).clamp(0, 1)
        width, height = int(self.size[0]), int(self.size[1])
        theta = torch.zeros(1, 2, 3, device=w.device)
        theta[0, 0, 0] = 0.5 * width / self.sampling_rate
        theta[0, 1, 1] = 0.5 * height / self.sampling_rate
        grid = F.affine_grid(theta, [1, 1, height, width], align_corners=False)  # [1, H, W, 2] pixel centres
        x = (grid.unsqueeze(3) @ freqs.permute(0, 2, 1).unsqueeze(1).unsqueeze(2)).squeeze(3)  # [N, H, W, C]
        x = torch.sin((x + phases[:, None, None]) * (np.pi * 2)) * amplitudes[:, None, None]
        x = x @ (self.weight / np.sqrt(self.channels)).t()
        return x.permute(0, 3, 1, 2)


class SynthesisLayer(torch.nn.Module):
    """Modulated conv -> filtered leaky ReLU (up to a temporary rate, low-pass, down to the output rate)."""

    def __init__(self,
                 w_dim: int,  # width of w
                 is_torgb: bool,  # the final linear 1x1 layer to image channels
                 is_critically_sampled: bool,  # cutoff at Nyquist (last layers): no radial filter
                 use_fp16: bool,  # run in FP16 (CUDA only)
                 in_channels: int,  # input channels
                 out_channels: int,  # output channels
                 in_size,  # input size: int or [width, height]
                 out_size,  # output size: int or [width, height]
                 in_sampling_rate: float,  # input sampling rate s
                 out_sampling_rate: float,  # output sampling rate
                 in_cutoff: float,  # input cutoff frequency f_c
                 out_cutoff: float,  # output cutoff frequency
                 in_half_width: float,  # input transition band half-width f_h
                 out_half_width: float,  # output transition band half-width
                 conv_kernel: int = 3,  # convolution kernel (1 for config R; ToRGB always 1)
                 filter_size: int = 6,  # low-pass taps per input sample when resampling
                 lrelu_upsampling: int = 2,  # how much faster than the signal the nonlinearity is sampled
                 use_radial_filters: bool = False,  # jinc (rotation-invariant) downsampling filter (config R)
                 conv_clamp: float | None = 256,  # clamp outputs to +-X, None = no clamp
                 magnitude_ema_beta: float = 0.999,  # EMA decay of the input magnitude (training only)
                 ):
        super().__init__()
        self.w_dim, self.is_torgb, self.use_fp16 = w_dim, is_torgb, use_fp16
        self.is_critically_sampled = is_critically_sampled
        self.in_channels, self.out_channels = in_channels, out_channels
        self.in_size = np.broadcast_to(np.asarray(in_size), [2])
        self.out_size = np.broadcast_to(np.asarray(out_size), [2])
        self.in_sampling_rate, self.out_sampling_rate = in_sampling_rate, out_sampling_rate
        # The nonlinearity runs at a higher rate so the harmonics it creates can be filtered out.
        rate = max(in_sampling_rate, out_sampling_rate)
        self.tmp_sampling_rate = rate * (1 if is_torgb else lrelu_upsampling)
        self.conv_kernel = 1 if is_torgb else conv_kernel
        self.conv_clamp, self.magnitude_ema_beta = conv_clamp, magnitude_ema_beta

        self.affine = FullyConnectedLayer(w_dim, in_channels, bias_init=1)
        k = self.conv_kernel
        self.weight = torch.nn.Parameter(torch.randn([out_channels, in_channels, k, k]))
        self.bias = torch.nn.Parameter(torch.zeros([out_channels]))
        self.register_buffer("magnitude_ema", torch.ones([]))

        self.up_factor = int(np.rint(self.tmp_sampling_rate / in_sampling_rate))
        assert in_sampling_rate * self.up_factor == self.tmp_sampling_rate
        self.up_taps = filter_size * self.up_factor if self.up_factor > 1 and not is_torgb else 1
        self.register_buffer("up_filter", design_lowpass_filter(self.up_taps, in_cutoff, in_half_width * 2,
                                                                self.tmp_sampling_rate))
        self.down_factor = int(np.rint(self.tmp_sampling_rate / out_sampling_rate))
        assert out_sampling_rate * self.down_factor == self.tmp_sampling_rate
        self.down_taps = filter_size * self.down_factor if self.down_factor > 1 and not is_torgb else 1
        self.down_radial = use_radial_filters and not is_critically_sampled
        down = design_lowpass_filter(self.down_taps, out_cutoff, out_half_width * 2, self.tmp_sampling_rate,
                                     radial=self.down_radial)
        self.register_buffer("down_filter", down)
        # Pad so the output grid's samples sit symmetrically on the input grid (paper, appendix C.3).
        pad_total = (self.out_size - 1) * self.down_factor + 1
        pad_total -= (self.in_size + self.conv_kernel - 1) * self.up_factor
        pad_total += self.up_taps + self.down_taps - 2
        pad_lo = (pad_total + self.up_factor) // 2
        pad_hi = pad_total - pad_lo
        self.padding = [int(pad_lo[0]), int(pad_hi[0]), int(pad_lo[1]), int(pad_hi[1])]

    def forward(self, x: torch.Tensor, w: torch.Tensor, force_fp32: bool = False) -> torch.Tensor:
        """x [N, in_channels, in_h, in_w], w [N, w_dim] -> [N, out_channels, out_h, out_w]."""
        in_shape = (self.in_channels, int(self.in_size[1]), int(self.in_size[0]))
        assert x.shape[1:] == in_shape, f"x {tuple(x.shape)}, expected [N, *{in_shape}]"
        assert w.shape == (x.shape[0], self.w_dim), f"w {tuple(w.shape)}"
        styles = self.affine(w)
        if self.is_torgb:
            styles = styles / np.sqrt(self.in_channels * self.conv_kernel ** 2)
        fp16 = self.use_fp16 and not force_fp32 and x.device.type == "cuda"
        x = modulated_conv2d(x.to(torch.float16 if fp16 else torch.float32), self.weight, styles,
                             padding=self.conv_kernel - 1, demodulate=not self.is_torgb,
                             input_gain=self.magnitude_ema.rsqrt())
        gain, slope = (1.0, 1.0) if self.is_torgb else (np.sqrt(2), 0.2)
        x = filtered_lrelu(x, self.up_filter, self.down_filter, self.bias.to(x.dtype), up=self.up_factor,
                           down=self.down_factor, padding=self.padding, gain=gain, slope=slope,
                           clamp=self.conv_clamp)
        out_shape = (self.out_channels, int(self.out_size[1]), int(self.out_size[0]))
        assert x.shape[1:] == out_shape, f"output {tuple(x.shape)}, expected [N, *{out_shape}]"
        return x


class SynthesisNetwork(torch.nn.Module):
    """ws [N, num_layers + 2, w_dim] -> image; cutoffs and stopbands grow geometrically layer by layer."""

    def __init__(self,
                 w_dim: int,  # width of w
                 img_resolution: int,  # output resolution
                 img_channels: int,  # image channels
                 channel_base: int = 32768,  # channels ~ channel_base / 2 / cutoff
                 channel_max: int = 512,  # channel cap
                 num_layers: int = 14,  # layers, excluding the Fourier input and ToRGB
                 num_critical: int = 2,  # critically sampled layers at the end
                 first_cutoff: float = 2,  # cutoff of the first layer f_c,0
                 first_stopband: float = 2 ** 2.1,  # minimum stopband of the first layer f_t,0
                 last_stopband_rel: float = 2 ** 0.3,  # last layer's minimum stopband / its cutoff
                 margin_size: int = 10,  # extra pixels computed around the image at each layer
                 output_scale: float = 0.25,  # scale of the output image
                 num_fp16_res: int = 4,  # layers sampled above img_resolution / 2**N run in FP16 (on CUDA)
                 **layer_kwargs,  # SynthesisLayer options (conv_kernel, use_radial_filters, conv_clamp, ...)
                 ):
        super().__init__()
        self.w_dim, self.img_resolution, self.img_channels = w_dim, img_resolution, img_channels
        self.num_ws, self.num_layers, self.output_scale = num_layers + 2, num_layers, output_scale
        last_cutoff = img_resolution / 2
        last_stopband = last_cutoff * last_stopband_rel
        exponents = np.minimum(np.arange(num_layers + 1) / (num_layers - num_critical), 1)
        cutoffs = first_cutoff * (last_cutoff / first_cutoff) ** exponents
        stopbands = first_stopband * (last_stopband / first_stopband) ** exponents
        sampling_rates = np.exp2(np.ceil(np.log2(np.minimum(stopbands * 2, img_resolution))))
        half_widths = np.maximum(stopbands, sampling_rates / 2) - cutoffs
        sizes = sampling_rates + margin_size * 2
        sizes[-2:] = img_resolution  # the last two layers have no margin
        channels = np.rint(np.minimum((channel_base / 2) / cutoffs, channel_max))
        channels[-1] = img_channels
        self.input = SynthesisInput(w_dim, int(channels[0]), int(sizes[0]), sampling_rates[0], cutoffs[0])
        self.layer_names = []
        for idx in range(num_layers + 1):
            prev = max(idx - 1, 0)
            layer = SynthesisLayer(
                w_dim=w_dim, is_torgb=idx == num_layers,
                is_critically_sampled=idx >= num_layers - num_critical,
                use_fp16=bool(sampling_rates[idx] * 2 ** num_fp16_res > img_resolution),
                in_channels=int(channels[prev]), out_channels=int(channels[idx]),
                in_size=int(sizes[prev]), out_size=int(sizes[idx]),
                in_sampling_rate=int(sampling_rates[prev]), out_sampling_rate=int(sampling_rates[idx]),
                in_cutoff=cutoffs[prev], out_cutoff=cutoffs[idx],
                in_half_width=half_widths[prev], out_half_width=half_widths[idx], **layer_kwargs)
            name = f"L{idx}_{layer.out_size[0]}_{layer.out_channels}"
            setattr(self, name, layer)
            self.layer_names.append(name)

    def forward(self, ws: torch.Tensor, force_fp32: bool = False, transform: torch.Tensor | None = None,
                **_ignored) -> torch.Tensor:
        """ws [N, num_ws, w_dim] -> image [N, img_channels, R, R]; noise_mode is accepted and ignored."""
        assert ws.ndim == 3 and ws.shape[1:] == (self.num_ws, self.w_dim), f"ws {tuple(ws.shape)}"
        ws = ws.to(torch.float32).unbind(dim=1)
        x = self.input(ws[0], transform)
        for name, w in zip(self.layer_names, ws[1:], strict=True):
            x = getattr(self, name)(x, w, force_fp32=force_fp32)
        if self.output_scale != 1:
            x = x * self.output_scale
        return x.to(torch.float32)


class Generator(MappedGenerator):
    """z [N, z_dim], c [N, c_dim] -> image [N, img_channels, R, R] in about [-1, 1]."""

    mapping_defaults = {"num_layers": 2}

    synthesis_network = SynthesisNetwork  # takes SynthesisNetwork and SynthesisLayer options

    def forward(self, z, c, truncation_psi: float = 1.0, truncation_cutoff: int | None = None,
                noise_mode: str = "const", force_fp32: bool = False) -> torch.Tensor:
        return super().forward(z, c, truncation_psi, truncation_cutoff, force_fp32=force_fp32)
