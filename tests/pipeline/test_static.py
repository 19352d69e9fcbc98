"""Static checks: imports (however spelled), defined names, syntax errors; nothing is run."""

from __future__ import annotations

from collections.abc import Callable

import nbformat
import pytest
from nbformat import NotebookNode

from grader.core.results import GradeResult, Status
from grader.core.spec import Names
from grader.pipeline.static import analyse, forbidden, missing, to_python, user_names

TORCH = Names(forbidden_imports=["torch"])


def nb(*sources: str) -> NotebookNode:
    cells = [
        nbformat.v4.new_markdown_cell(s[3:])
        if s.startswith("md:")
        else nbformat.v4.new_code_cell(s)
        for s in sources
    ]
    made: NotebookNode = nbformat.v4.new_notebook(cells=cells)
    return made


@pytest.mark.parametrize(
    "source",
    [
        "import torch",
        "from torch import nn",
        "import torch.nn as nn",
        "import numpy as np, torch",
        "nn = __import__('torch')",
        "import importlib\nt = importlib.import_module('torch')",
        "from importlib import import_module\nt = import_module('torch.nn')",
        "def build():\n    import torch\n    return torch.zeros(1)\n",
        "class M:\n    def f(self):\n        from torch.nn import functional as F\n",
        "%matplotlib inline\n!pip install x\nimport torch",
        "%%capture\nimport torch",
        "try:\n    import torch\nexcept ImportError:\n    pass",
    ],
)
def test_forbidden_imports_are_found(source: str) -> None:
    facts = analyse(nb("md:# intro", "x = 1", source))
    assert forbidden(facts, TORCH) == {"torch": 2}


@pytest.mark.parametrize(
    "source",
    [
        "import torchvision_like_name",
        "from . import torch",
        "# import torch",
        "print('import torch')",
        "%%bash\npython -c 'import torch'",
        "s = 'torch'\nimport numpy",
    ],
)
def test_lookalikes_are_not_forbidden(source: str) -> None:
    assert forbidden(analyse(nb(source)), TORCH) == {}


def test_first_importing_cell_is_reported() -> None:
    facts = analyse(nb("import numpy", "import torch", "import torch.nn"))
    assert facts.imports == {"numpy": 0, "torch": 1}


def test_magics_do_not_break_parsing() -> None:
    facts = analyse(
        nb(
            "%matplotlib inline\n!pip install x\nfiles = !ls\n"
            "def square(x):\n    %time y = x\n    return x * x\nsquare?"
        )
    )
    assert facts.syntax_errors == {}
    assert "square" in facts.defined


def test_not_equal_on_a_continuation_line_is_python() -> None:
    source = "ok = (1\n      != 2)\ndef square(x):\n    return x * x"
    assert to_python(source) == source
    assert analyse(nb(source)).defined == {"ok", "square"}


def test_syntax_errors_are_recorded_with_cell_and_line() -> None:
    facts = analyse(nb("x = 1", "md:text", "a = 1\nb = (\n", "def f(:\n    pass", "y = 2"))
    assert sorted(facts.syntax_errors) == [2, 3]
    assert facts.syntax_errors[2].startswith("line 2")
    assert facts.syntax_errors[3].startswith("line 1")
    assert facts.defined == {"x", "y"}  # other cells are still read


def test_defined_names_and_methods() -> None:
    facts = analyse(
        nb(
            "import numpy as np\nimport os.path\nfrom math import sqrt as root",
            "def square(x):\n    inner = 1\n    return x * x\n\nasync def fetch():\n    pass",
            "class Counter:\n    start = 0\n\n    def add(self, n):\n        return n\n\n"
            "    async def wait(self):\n        pass",
            "a, (b, *c) = 1, (2, 3)\nd: int = 4\ne += 1\n"
            "model.weight = 0\narr[0] = 1\n_private = 2",
        )
    )
    assert facts.defined == {
        "np",
        "os",
        "root",
        "square",
        "fetch",
        "Counter",
        "a",
        "b",
        "c",
        "d",
        "e",
        "_private",
    }
    assert facts.methods == {"Counter": {"add", "wait"}}
    assert user_names(facts) == sorted(facts.defined - {"_private"})


def test_names_defined_in_top_level_blocks_count() -> None:
    facts = analyse(
        nb(
            "try:\n    from fast import square\nexcept ImportError:\n    def square(x):\n"
            "        return x * x",
            "if True:\n    class Counter:\n        def add(self, n):\n            return n",
            "for epoch in range(3):\n    loss = epoch\nelse:\n    done = True",
            "with open(__file__) as fh:\n    text = fh.read()",
            "while False:\n    never = 1",
            "def outer():\n    hidden = 1",
        )
    )
    assert {"square", "Counter", "epoch", "loss", "done", "fh", "text", "never"} <= facts.defined
    assert "hidden" not in facts.defined
    assert facts.methods["Counter"] == {"add"}


def test_aliases_satisfy_required_names() -> None:
    names = Names(required=["square", "Counter"], aliases={"square": ["sq", "squared"]})
    facts = analyse(nb("def squared(x):\n    return x * x", "class Counter:\n    pass"))
    assert missing(facts, names) == []
    assert missing(analyse(nb("def cube(x):\n    return x ** 3")), names) == ["square", "Counter"]


def test_missing_names_verdict_lists_what_is_defined(graded: Callable[[str], GradeResult]) -> None:
    result = graded("missing_names/no_counter")
    assert result.status == Status.MISSING_NAMES
    assert "Counter" in result.message
    assert "helper_fn" in result.message and "square" in result.message
    passed = {t.id.split("::")[-1] for t in result.tests if t.points == t.max_points}
    assert passed == {"test_square_of_two", "test_square_array"}  # what exists is still graded
