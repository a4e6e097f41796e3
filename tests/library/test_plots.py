import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from vae_course import plots  # noqa: E402
from vae_course.models import Autoencoder  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def test_every_plot_returns_a_figure_and_draws_into_a_given_ax():
    x = torch.rand(12, 784)
    model = Autoencoder(latent_dim=2)
    history = {"loss": [3.0, 2.0], "recon": [3.0, 2.0], "kl": [0.0, 0.0], "test_loss": [3.1, 2.1]}
    makers = [
        lambda ax: plots.image_grid(x, nrow=6, ax=ax),
        lambda ax: plots.reconstructions(x, x, n=6, ax=ax),
        lambda ax: plots.latent_scatter(torch.randn(50, 2), torch.randint(0, 10, (50,)), ax=ax),
        lambda ax: plots.latent_grid(model.decode, n=5, ax=ax),
        lambda ax: plots.interpolation_strip({"pixels": x[:5], "latent": x[5:10]}, ax=ax),
        lambda ax: plots.loss_curves(history, ax=ax),
    ]
    for make in makers:
        fig = make(None)
        assert isinstance(fig, Figure)
        outer, ax = plt.subplots()
        assert make(ax) is outer
        assert ax.has_data() or ax.images


def test_image_grid_shows_the_pixels():
    x = torch.zeros(2, 784)
    x[0, :28] = 1.0  # the first image's top row is ink
    fig = plots.image_grid(x, nrow=2)
    img = fig.axes[0].images[0].get_array()  # (32, 62): two 28 x 28 images, padding 2
    assert img.shape == (32, 62)
    assert np.isclose(img[2, 2:30].mean(), 1.0) and np.isclose(img[5, 2:30].mean(), 0.0)
    assert np.isclose(img[2, 32:60].mean(), 0.0)  # the second image has no ink
    one = plots.image_grid(x[:1], nrow=1).axes[0].images[0].get_array()
    assert one.shape == (28, 28) and np.isclose(one[0].mean(), 1.0)  # one image: no padding


def test_latent_grid_decodes_requested_points():
    seen = []

    def decode(z):
        seen.append(z.clone())
        return torch.zeros(len(z), 784)

    plots.latent_grid(decode, extent=(-1, 1, -2, 2), n=3)
    z = seen[0]
    assert z.shape == (9, 2)
    assert z[:, 0].min() == -1 and z[:, 0].max() == 1 and z[0, 1] == 2  # top row is high z2


def test_latent_scatter_refuses_higher_dimensional_codes():
    with pytest.raises(ValueError, match="project"):
        plots.latent_scatter(torch.randn(5, 3))


def test_plots_leave_global_style_alone():
    before = dict(matplotlib.rcParams)
    plots.loss_curves({"loss": [1.0, 0.5]})
    assert dict(matplotlib.rcParams) == before
