"""Commands launched by torchrun (`torchrun --nproc_per_node N -m infiniscape render ...`): every
rank joins the process group as training does (infiniscape.train.distributed), runs the command for
its share, and all ranks end with one outcome: the lowest failing rank reports its error in one
line and every rank exits 2. Without torchrun the command just runs."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from infiniscape.models.errors import UserError

from .common import resolve_device

# A status point waits for the slowest rank's tile row: up to 2^18 px wide, a row of InfinityGAN-HR
# patches takes hours on a CPU. A rank that fails still arrives (its vote), and torchrun stops the
# group when a process dies, so this only bounds a process that hangs.
ROW_TIMEOUT = timedelta(hours=24)


def run_on_ranks(device: str, body: Callable[[object, str], int]) -> int:
    """``body(env, device)`` on this rank: ``env`` is its DistEnv (a renderer Ranks), ``device`` its
    own (cuda:LOCAL_RANK for any cuda choice under torchrun). Returns the exit status."""
    from infiniscape.renderer.rank_rows import RankFailed, SharedFailure, agree, vote_failed
    from infiniscape.train import distributed

    try:
        device, invalid = resolve_device(device), None
    except UserError as e:  # join the group anyway, so that one rank reports it for all
        device, invalid = "cpu", e
    split = distributed.launched_world_size() > 1
    env = distributed.setup("cuda" if split and device.startswith("cuda") else device, ROW_TIMEOUT)
    try:
        if invalid:
            raise invalid
        code = body(env, str(env.device) if split else device)
        agree(env)  # the last status point: rank 0 finished writing
        return code
    except RankFailed:
        return 2
    except SharedFailure:
        raise
    except Exception as e:
        if not split:
            raise
        if vote_failed(env) != env.rank:
            return 2
        if env.rank == 0:
            raise
        from infiniscape.models.errors import describe_error

        raise UserError(f"rank {env.rank} of {env.world_size}: {describe_error(e)}") from e
    finally:
        distributed.teardown(env)
