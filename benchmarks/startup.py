"""Startup: seconds from launch to the window, and from the window opening to the first tiles drawn.

    xvfb-run -a -s "-screen 0 1280x800x24" python benchmarks/startup.py [--model landscape] [--runs 3]

Each run is a fresh process doing what `infiniscape view` does (display check, UI core reserved,
window, Studio, the window's own main loop with its FPS limit and idle waits), so imports, model
loading and the first renders all count. "first tile" is the first frame whose canvas drew a
generated tile texture; "view" the first frame with every visible tile drawn.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

CHILD = r"""
import json, sys, time
t0 = float(sys.argv[1])
from infiniscape.window import StudioWindow, check_display
from infiniscape.commands.view import reserve_ui_core
check_display()
reserve_ui_core()
window = StudioWindow(1280, 800)
t_window = time.time()
from infiniscape.studio import Studio
studio = Studio(model=sys.argv[2])
first = None
draw = window.draw
def timed_draw(studio):  # the real main loop below; this only notes the first frame with a tile
    global first
    out = draw(studio)
    if first is None and studio.pool.live > 0:
        first = time.time()
    return out
window.draw = timed_draw
window.run(studio, quit_after_frames=1, settle_timeout=120)  # returns once every visible tile is drawn
view = time.time()
studio.close()
window.close()
print(json.dumps(dict(window=t_window - t0, first=first - t_window, view=view - t_window,
                      tiles=len(studio.canvas.visible))))
"""


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default="landscape")
    p.add_argument("--runs", type=int, default=3)
    args = p.parse_args()
    print(f"{'run':>3} {'launch -> window s':>18} {'window -> first tile s':>22} {'window -> view s':>16} "
          f"{'tiles':>5}")
    for i in range(args.runs):
        out = subprocess.run([sys.executable, "-c", CHILD, repr(time.time()), args.model],
                             capture_output=True, text=True, check=True).stdout
        r = json.loads(out.strip().splitlines()[-1])
        print(f"{i:3d} {r['window']:18.2f} {r['first']:22.2f} {r['view']:16.2f} {r['tiles']:5d}")


if __name__ == "__main__":
    main()
