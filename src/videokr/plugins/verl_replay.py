"""verl's sync replay buffer with a reproducible row order: `OrderedReplayBuffer`.

verl 0.9.1's sync trainer reads a step's trajectories back from TransferQueue in the order their rollouts
finished (`ReplayBuffer._materialize_batch` walks the store's keys), so which prompts share a PPO mini-batch, and
so the policy after each update, changes from run to run even when every sampled answer is the same. This buffer
hands the trainer the same rows in the same order in every run: prompt by prompt as they were submitted
(dataloader order), and a prompt's `rollout.n` copies side by side, ordered by their response tokens (which copy
drew which sample depends on arrival; the samples themselves do not, see `videokr.plugins.verl_rollout_hf`).
verl loads it through `trainer.v1.sampler.custom_sampler` (`videokr.engines.verl` sets it for CPU runs); nothing
in verl is edited.
"""

import dataclasses
from collections.abc import Sequence

import transfer_queue as tq
from verl.trainer.ppo.v1.replay_buffer import KVBatchMeta, ReplayBuffer


def trajectory_order(keys: list[str], prompt_order: list[str], responses: Sequence[Sequence[int]]) -> list[int]:
    """Positions of `keys` (`{uid}_{session}_{index}`) sorted by prompt submission, then response, then session.

    >>> keys = ["b_1_0", "a_1_0", "b_0_0", "a_0_0"]
    >>> trajectory_order(keys, ["a", "b"], [[5], [9, 1], [7], [9, 1]])
    [3, 1, 0, 2]
    >>> trajectory_order(["b_10_0", "b_2_0", "b_2_1"], ["b"], [[1], [1], [1]])
    [1, 2, 0]
    """
    rank = {uid: position for position, uid in enumerate(prompt_order)}

    def sort_key(position: int) -> tuple[int, list[int], int, int]:
        uid, session, index = keys[position].rsplit("_", 2)
        return rank.get(uid, len(rank)), list(responses[position]), int(session), int(index)

    return sorted(range(len(keys)), key=sort_key)


class OrderedReplayBuffer(ReplayBuffer):
    """The sync `ReplayBuffer`, returning a batch's rows in a reproducible order (not rollout completion order)."""

    def _materialize_batch(
        self, partition_id: str, selected_prompt_uids: list[str], partition_snapshot: dict[str, dict]
    ) -> KVBatchMeta:
        batch = super()._materialize_batch(partition_id, selected_prompt_uids, partition_snapshot)
        if not batch.keys:
            return batch
        # TransferQueue lists keys in insertion order, and a step's prompts are put in one call, in dataloader order
        submitted = list(self.prompt_global_steps[partition_id])
        fetched = tq.kv_batch_get(keys=batch.keys, partition_id=partition_id, select_fields=["responses"])
        responses = [row.tolist() for row in fetched["responses"].unbind()]
        order = trajectory_order(batch.keys, submitted, responses)
        return dataclasses.replace(batch, keys=[batch.keys[i] for i in order], tags=[batch.tags[i] for i in order])
