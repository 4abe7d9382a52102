"""What the attacks share: scoring hidden counts recovered by differencing published figures
against the truth, with the optimal attacker of ``odds`` (who knows the perturbation table, which
the "How figures are protected" page publishes, and guesses each hidden count by the Bayes rule)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from dashboard.analytics.disclosure import PTable
from tests.adversary.odds import bayes_exact_rate_sums, bayes_guess, sum_noise, summary_line, upper_bound


def layer_of(app):
    """The disclosure-control layer the app answers through (its runtime's)."""
    return app.server.extensions["ccr"].disclosure


@dataclass(frozen=True)
class Case:
    """One hidden count h (1..K-1) and the published figures it is differenced from:
    observed = sum(published plus) - sum(published minus) = h + noise."""

    hidden: int
    published_plus: tuple[int, ...]
    published_minus: tuple[int, ...]
    true_plus: tuple[int, ...]
    true_minus: tuple[int, ...]
    where: str = ""

    @property
    def observed(self) -> int:
        return sum(self.published_plus) - sum(self.published_minus)


@dataclass
class Score:
    """Hidden counts recovered exactly by the optimal attacker, and what independent noise allows."""

    name: str
    table: PTable
    k: int
    cases: list[Case] = field(default_factory=list)

    def add(self, case: Case) -> None:
        assert 1 <= case.hidden < self.k
        self.cases.append(case)

    def guess(self, case: Case) -> int:
        # The attacker sees only published figures: their noise model is taken at the published counts.
        noise = sum_noise(self.table, case.published_plus, case.published_minus)
        return bayes_guess(case.observed, noise, self.k)

    @property
    def n(self) -> int:
        return len(self.cases)

    @property
    def recovered(self) -> int:
        return sum(self.guess(c) == c.hidden for c in self.cases)

    @property
    def share(self) -> float:
        return self.recovered / self.n if self.n else 0.0

    @property
    def chance(self) -> float:
        """The expected share for an optimal attacker against independent draws from the table,
        at the true counts involved (``bayes_exact_rate_sums``)."""
        return bayes_exact_rate_sums(self.table, [(c.true_plus, c.true_minus) for c in self.cases], self.k)

    @property
    def bound(self) -> float:
        return upper_bound(self.chance, self.n)

    def line(self) -> str:
        return summary_line(self.name, self.recovered, self.n, self.chance)

    def examples(self, limit: int = 5) -> str:
        """Some hidden counts the attacker got right, for failure messages."""
        right = [c for c in self.cases if self.guess(c) == c.hidden][:limit]
        return "; ".join(f"{c.where}: {c.hidden} (seen {c.observed})" for c in right)


def merge(name: str, scores: Sequence[Score]) -> Score:
    out = Score(name, scores[0].table, scores[0].k)
    for s in scores:
        out.cases.extend(s.cases)
    return out
