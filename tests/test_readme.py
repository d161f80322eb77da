"""The README is the user's document: its Python API block runs as a doctest, it
stays short, and it cites no document outside the repository."""

import doctest
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def test_the_python_api_block_runs_as_a_doctest():
    block = re.search(r"## Python API.*?```python\n(.*?)```", README, re.S).group(1)
    test = doctest.DocTestParser().get_doctest(block, {}, "README.md: Python API", "README.md", 0)
    assert len(test.examples) > 20
    runner = doctest.DocTestRunner(optionflags=doctest.NORMALIZE_WHITESPACE)
    runner.run(test)
    result = runner.summarize(verbose=False)
    assert result.failed == 0, (
        f"{result.failed} of {result.attempted} README examples failed (see above)"
    )


def test_readme_is_short_and_free_of_training_history():
    assert len(README.splitlines()) <= 250
    assert "make demo" in README and "make test" in README
    for history in ("stage 1", "stage 8", "commit `", "session "):
        assert history not in README, history


def test_every_local_link_and_image_exists():
    for target in re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", README):
        if not target.startswith("http"):
            assert (ROOT / target).exists(), target


def test_the_project_cites_no_document_outside_itself():
    """The design facts live in docs/design.md: no "DESIGN §" or ../shared reference."""
    for path in [*ROOT.glob("napari_genmed/**/*.py"), *ROOT.glob("docs/*.md"), ROOT / "README.md"]:
        text = path.read_text()
        assert "DESIGN §" not in text and "shared/DESIGN" not in text, path
