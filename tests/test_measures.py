import torch

from vae_course import data, measures


def test_nearest_distances_by_hand():
    ref = torch.tensor([[0.0, 0.0], [10.0, 0.0]])
    pts = torch.tensor([[1.0, 0.0], [7.0, 4.0]])
    assert torch.allclose(measures.nearest_distances(pts, ref), torch.tensor([1.0, 5.0]))


def test_typical_spacing_excludes_the_point_itself():
    codes = torch.tensor([[float(i), 0.0] for i in range(10)])
    assert measures.typical_spacing(codes, n=10) == 1.0


def test_distance_ratio_is_about_one_for_samples_from_the_data_distribution():
    g = torch.Generator().manual_seed(0)
    codes = torch.randn(5000, 2, generator=g)
    same = torch.randn(1000, 2, generator=g)
    far = same * 10
    assert 0.5 < measures.distance_ratio(same, codes) < 2
    assert measures.distance_ratio(far, codes) > 10


def test_classifier_recognises_real_digits_not_noise(tmp_path):
    clf = measures.load_classifier(cache=tmp_path)  # on the GPU where there is one
    x, y = data.load("test")
    acc = (measures.predict(clf, x) == y).float().mean().item()
    assert acc > 0.95
    assert measures.confident_share(clf, x) > 0.9
    noise = torch.rand(1000, 784, generator=torch.Generator().manual_seed(0))
    assert measures.confident_share(clf, noise) < measures.confident_share(clf, x)
