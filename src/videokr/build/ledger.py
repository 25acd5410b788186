"""The cost ledger: requests, cache hits, tokens, cost and failures per step and model, and the budget cap.

The ledger lives in `<run>/ledger.json` and accumulates over every stage and re-run of a build, so the budget caps
the whole build: `charge` refuses the request that would pass a cap with BudgetError, which stops the stage
cleanly (every answer so far is cached; raise the cap and re-run to go on).
"""

import json
import threading
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from videokr.build.config import BudgetConfig
from videokr.errors import VideoKRError
from videokr.io import write_json


class BudgetError(VideoKRError):
    """A budget cap of the build was reached; the run stops with everything answered so far cached."""


@dataclass
class Account:
    """The spend of one (step, model)."""

    requests: int = 0  # HTTP attempts sent, retries included
    cached: int = 0  # calls answered from the cache
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    failures: int = 0  # calls recorded as failed after their retries
    reasons: dict[str, int] = field(default_factory=dict)  # failure or retry reason -> count


class Ledger:
    """Thread-safe accounts per `step/model`, persisted to `path` on `save`."""

    def __init__(self, path: str | Path | None = None, budget: BudgetConfig | None = None) -> None:
        self.path = Path(path) if path is not None else None
        self.budget = budget or BudgetConfig()
        self.accounts: dict[str, Account] = {}
        self._lock = threading.Lock()
        if self.path is not None and self.path.is_file():
            for key, value in json.loads(self.path.read_text()).get("accounts", {}).items():
                self.accounts[key] = Account(**value)

    def _account(self, step: str, model: str) -> Account:
        return self.accounts.setdefault(f"{step}/{model}", Account())

    def charge(self, step: str, model: str) -> None:
        """Count one request about to be sent; BudgetError when a cap is already reached."""
        with self._lock:
            reason = self._over_budget()
            if reason:
                raise BudgetError(f"budget cap reached ({reason}) before a {step} call to {model}")
            self._account(step, model).requests += 1

    def _over_budget(self) -> str:
        totals, cap = self.totals(), self.budget
        if cap.max_requests and totals["requests"] >= cap.max_requests:
            return f"{totals['requests']} requests of budget.max_requests={cap.max_requests}"
        tokens = totals["prompt_tokens"] + totals["completion_tokens"]
        if cap.max_tokens and tokens >= cap.max_tokens:
            return f"{tokens} tokens of budget.max_tokens={cap.max_tokens}"
        if cap.max_cost_usd and totals["cost_usd"] >= cap.max_cost_usd:
            return f"${totals['cost_usd']:.4f} of budget.max_cost_usd={cap.max_cost_usd}"
        return ""

    def spend(self, step: str, model: str, prompt_tokens: int, completion_tokens: int, cost_usd: float) -> None:
        """Add the tokens (and their cost) of one reply."""
        with self._lock:
            account = self._account(step, model)
            account.prompt_tokens += prompt_tokens
            account.completion_tokens += completion_tokens
            account.cost_usd += cost_usd

    def note(self, step: str, model: str, reason: str, *, failed: bool = False) -> None:
        """Count a retry reason, or (failed) a call given up on."""
        with self._lock:
            account = self._account(step, model)
            account.reasons[reason] = account.reasons.get(reason, 0) + 1
            account.failures += int(failed)

    def hit(self, step: str, model: str) -> None:
        """Count a call answered from the cache."""
        with self._lock:
            self._account(step, model).cached += 1

    def totals(self) -> dict[str, Any]:
        """The sums over every account (callers hold the lock or accept a snapshot in flux)."""
        keys = ("requests", "cached", "prompt_tokens", "completion_tokens", "cost_usd", "failures")
        return {k: sum(getattr(a, k) for a in self.accounts.values()) for k in keys}

    def to_dict(self) -> dict[str, Any]:
        """The ledger as plain data (accounts and totals)."""
        with self._lock:
            accounts = {key: asdict(account) for key, account in sorted(self.accounts.items())}
        return {"accounts": accounts, "totals": self.totals(), "budget": asdict(self.budget)}

    def save(self) -> None:
        """Write the ledger atomically (no-op without a path)."""
        if self.path is not None:
            write_json(self.path, self.to_dict())
