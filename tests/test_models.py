"""Models: closed-form parameter counts, target_params resolution, shapes, causality."""

import math

import pytest

torch = pytest.importorskip("torch")

from scalinglab import models  # noqa: E402

SHAKESPEARE = {"vocab_size": 82}
MNIST1D = {"n_features": 40, "n_classes": 10}


@pytest.mark.parametrize("arch", [
    {"d_model": 16, "n_layer": 2, "context": 64},
    {"d_model": 24, "n_layer": 1, "head_dim": 8, "context": 32},
    {"d_model": 48, "n_layer": 3, "n_head": 3, "context": 16, "bias": False},
])
def test_gpt_counts_match_the_built_model(arch):
    resolved = models.resolve("gpt", arch, SHAKESPEARE)
    model = models.build("gpt", resolved)
    assert models.count_params("gpt", resolved) == (model.num_params(), model.num_params(non_embedding=True))
    assert resolved["d_model"] % resolved["n_head"] == 0


def test_gpt_nonembedding_counts_of_the_default_study():
    # docs/cpu-sizing.md: 2 layers, heads d/16, the recipe's per-point N
    expected = {16: 6592, 24: 14496, 32: 25472, 48: 56640, 64: 100096, 96: 223872, 128: 396800}
    for d, n in expected.items():
        resolved = models.resolve("gpt", {"n_layer": 2, "head_dim": 16, "context": 64, "d_model": d}, SHAKESPEARE)
        assert models.count_params("gpt", resolved)[1] == n
        assert resolved["n_head"] == max(1, d // 16)


@pytest.mark.parametrize("arch,meta", [
    ({"width": 32, "depth": 2}, MNIST1D),
    ({"width": 7, "depth": 4, "activation": "gelu"}, MNIST1D),
    ({"depth": 0, "input_features": 5}, {"n_features": 32, "n_outputs": 1}),
])
def test_mlp_counts_match_the_built_model(arch, meta):
    resolved = models.resolve("mlp", arch, meta)
    model = models.build("mlp", resolved)
    n, n_nonemb = models.count_params("mlp", resolved)
    assert n == n_nonemb == model.num_params()
    assert model(torch.zeros(3, meta["n_features"])).shape == (3, resolved["n_outputs"])


@pytest.mark.parametrize("target", [5_000, 30_000, 100_000, 400_000])
def test_gpt_target_params_resolves_to_the_nearest_size(target):
    arch = {"n_layer": 2, "head_dim": 16, "context": 64, "target_params": target}
    resolved = models.resolve("gpt", arch, SHAKESPEARE)
    n = models.count_params("gpt", resolved)[1]
    d = resolved["d_model"]
    for other in (d - 8, d + 8):
        if other >= 8:
            alt = models.resolve("gpt", {"n_layer": 2, "head_dim": 16, "context": 64, "d_model": other}, SHAKESPEARE)
            assert abs(math.log(n / target)) <= abs(math.log(models.count_params("gpt", alt)[1] / target))
    assert abs(math.log(n / target)) < 0.35


@pytest.mark.parametrize("target", [1_000, 10_000, 200_000])
def test_mlp_target_params_resolves_within_a_few_percent(target):
    resolved = models.resolve("mlp", {"depth": 2, "target_params": target}, MNIST1D)
    assert abs(models.count_params("mlp", resolved)[0] / target - 1) < 0.05


def test_bad_architectures_are_rejected():
    with pytest.raises(ValueError, match="unknown key"):
        models.resolve("gpt", {"d_model": 16, "layers": 2}, SHAKESPEARE)
    with pytest.raises(ValueError, match="not both"):
        models.resolve("gpt", {"d_model": 16, "target_params": 1000}, SHAKESPEARE)
    with pytest.raises(ValueError, match="required"):
        models.resolve("mlp", {"depth": 2}, MNIST1D)
    with pytest.raises(ValueError, match="unknown model"):
        models.resolve("rnn", {}, MNIST1D)


def test_gpt_is_causal_and_ties_its_head():
    torch.manual_seed(0)
    resolved = models.resolve("gpt", {"d_model": 16, "n_layer": 2, "context": 12}, SHAKESPEARE)
    model = models.build("gpt", resolved).eval()
    x = torch.randint(0, 82, (2, 12))
    y = x.clone()
    y[:, 8:] = (y[:, 8:] + 1) % 82
    with torch.no_grad():
        a = model(x)
        b = model(y)
    assert a.shape == (2, 12, 82)
    assert torch.equal(a[:, :8], b[:, :8]) and not torch.equal(a[:, 8:], b[:, 8:])
    for name, p in model.named_parameters():
        if p.dim() >= 2 and "wpe" not in name:
            assert abs(p.std().item() - 0.02) < 0.01, name  # N(0, 0.02) init
    assert not any("lm_head" in n for n, _ in model.named_parameters())  # tied: no separate head weight
