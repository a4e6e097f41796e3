"""What the code cells of a notebook bind, read without running them
(vae_course.tools.notebook_names)."""

import ast

from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from vae_course.tools.notebook_names import DYNAMIC, function_scope, notebook_scope


def test_the_scope_holds_imports_defs_assignments_and_code_run_from_strings():
    nb = new_notebook(cells=[
        new_markdown_cell("import not_code"),
        new_code_cell("import vae_course.losses as L\nfrom vae_course.models import VAE\n"
                      "from vae_course.losses import *"),
        new_code_cell("def f(x, beta=2.0):\n    y = x\n    return y\nf = L.gaussian_kl\n"
                      "globals()['g'] = L.vae_loss"),
        new_code_cell("exec('h = 1')\nexec(code)\n%run my_answers.py"),
        new_code_cell("def broken(:\n    pass"),
    ])
    scope = notebook_scope(nb)
    assert [b.path for b in scope.find("L")] == ["vae_course.losses"]
    assert [b.path for b in scope.find("VAE")] == ["vae_course.models.VAE"]
    [star] = scope.find("*")
    assert star.star and star.path == "vae_course.losses"
    defined, assigned = scope.find("f")  # every binding counts, in order
    assert isinstance(defined.node, ast.FunctionDef) and defined.cell == 2
    assert ast.unparse(assigned.node) == "L.gaussian_kl"
    assert ast.unparse(scope.find("g")[0].node) == "L.vae_loss"
    assert [b.cell for b in scope.find("h")] == [3]  # exec of a constant string is read
    assert [b.cell for b in scope.find(DYNAMIC)] == [3, 3]  # exec(code) and %run are not
    for name in ("not_code", "broken", "y", "x"):
        assert scope.find(name) is None, name
    local = function_scope(defined.node, scope, 2)
    assert local.find("x")[0].node is None and ast.unparse(local.find("beta")[0].node) == "2.0"
    assert local.find("y") and local.find("L") is scope.find("L")  # else the cell's names
