"""The course's objects that answer an exercise (vae_course.tools.references)."""

from vae_course import losses, models
from vae_course.checks import EXERCISES
from vae_course.interactive import explorers
from vae_course.tools.references import lookup, references


def test_the_references_of_an_exercise_are_the_courses_objects_it_names():
    objects, names = references(EXERCISES["gaussian_kl"])
    assert objects[id(losses.gaussian_kl)] == "vae_course.losses.gaussian_kl"
    assert objects[id(losses.kl_per_dimension)] == "vae_course.losses.kl_per_dimension"  # ANSWERS
    assert {"gaussian_kl", "kl_per_dimension"} <= names
    assert id(losses.reconstruction_loss) not in objects  # another exercise's answer
    objects, _ = references(EXERCISES["reparameterize"])
    assert objects[id(models.VAE.reparameterize)] == "vae_course.models.VAE.reparameterize"


def test_lookup_finds_only_the_courses_own_objects():
    assert lookup("vae_course.losses.gaussian_kl") is losses.gaussian_kl
    assert lookup("vae_course.interactive.explorers.interpolate") is explorers.interpolate
    for path in ("vae_course.losses.no_such_name", "vae_course.no_such_module.f", "os.system"):
        assert lookup(path) is None, path
