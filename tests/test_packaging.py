"""The distribution: a wheel and an sdist build from the tree, pass ``twine check --strict``, and hold
what an installed chainrule needs (py.typed in each package, the explorer's page assets, LICENSE, the
version of ``autograd.__version__``) and nothing of the test suite."""
import email
import pathlib
import re
import subprocess
import sys
import tarfile
import zipfile

import pytest

import autograd

ROOT = pathlib.Path(__file__).resolve().parents[1]
URL = "https://github.com/chainrule/chainrule"


@pytest.fixture(scope="module")
def dist(tmp_path_factory):
    """Build as a release would: the sdist from the tree, then the wheel from that sdist (so a file
    the sdist forgets is missing from the wheel too). --no-isolation: the build uses the venv's
    setuptools (the dev extra) and needs no network."""
    out = tmp_path_factory.mktemp("dist")
    result = subprocess.run([sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), str(ROOT)],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    wheels, sdists = sorted(out.glob("*.whl")), sorted(out.glob("*.tar.gz"))
    assert len(wheels) == 1 and len(sdists) == 1, sorted(p.name for p in out.iterdir())
    return wheels[0], sdists[0]


def test_wheel_and_sdist_pass_twine_check(dist):
    result = subprocess.run([sys.executable, "-m", "twine", "check", "--strict", *map(str, dist)],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("PASSED") == 2, result.stdout


def test_the_wheel_holds_the_packages_typing_markers_assets_and_license_and_no_tests(dist):
    wheel, _ = dist
    names = set(zipfile.ZipFile(wheel).namelist())
    version = autograd.__version__
    assert wheel.name == f"chainrule-{version}-py3-none-any.whl"
    for package in ("autograd", "nn", "optim"):
        assert f"{package}/__init__.py" in names
        assert f"{package}/py.typed" in names, f"{package}/py.typed missing from the wheel"
    for asset in ("explorer.html", "explorer.js", "explorer.css"):
        assert f"autograd/explorer/assets/{asset}" in names, f"the explorer's {asset} missing from the wheel"
    assert f"chainrule-{version}.dist-info/licenses/LICENSE" in names
    assert not [n for n in names if n.split("/")[0] in ("tests", "notebooks", "benchmarks", "examples", "scripts")]
    tops = {n.split("/")[0] for n in names}
    assert tops == {"autograd", "nn", "optim", f"chainrule-{version}.dist-info"}, tops


def test_the_metadata_has_one_version_license_urls_and_classifiers(dist):
    wheel, _ = dist
    text = zipfile.ZipFile(wheel).read(f"chainrule-{autograd.__version__}.dist-info/METADATA").decode()
    meta = email.message_from_string(text)
    assert meta["Version"] == autograd.__version__
    assert re.fullmatch(r"\d+\.\d+\.\d+", autograd.__version__)
    assert meta["License-Expression"] == "MIT"
    urls = dict(u.split(", ", 1) for u in meta.get_all("Project-URL"))
    assert urls["Homepage"] == URL and urls["Source"] == URL and urls["Issues"] == URL + "/issues", urls
    classifiers = meta.get_all("Classifier")
    assert "Typing :: Typed" in classifiers and "Programming Language :: Python :: 3" in classifiers
    assert meta["Description-Content-Type"] == "text/markdown"
    extras = set(meta.get_all("Provides-Extra"))
    assert {"dev", "docs", "notebooks", "demo", "oracle", "bench"} <= extras, extras
    # the notebooks extra brings scikit-learn (the digits of notebooks 02, 03, 04, 06), the demo's too
    requires = meta.get_all("Requires-Dist")
    for extra in ("notebooks", "demo"):
        assert any(r.startswith("scikit-learn") and f'extra == "{extra}"' in r for r in requires), extra


def test_the_sdist_holds_license_readme_and_pyproject_and_no_tests(dist):
    _, sdist = dist
    names = tarfile.open(sdist).getnames()
    base = sdist.name[:-len(".tar.gz")]
    for name in ("LICENSE", "README.md", "pyproject.toml", "autograd/py.typed", "autograd/explorer/assets/explorer.js"):
        assert f"{base}/{name}" in names, name
    assert not [n for n in names if n.startswith(f"{base}/tests/")]


def test_license_file_is_mit():
    text = (ROOT / "LICENSE").read_text()
    assert text.startswith("MIT License") and "the chainrule authors" in text


def test_readme_images_show_on_the_package_index():
    """The package index renders the README without the repository around it: every image is an
    absolute URL into the project's repository."""
    images = re.findall(r"!\[[^\]]*\]\(([^)\s]+)", (ROOT / "README.md").read_text())
    assert images, "the README has no images"
    relative = [src for src in images if not src.startswith(URL.replace("github.com", "raw.githubusercontent.com") + "/")]
    assert not relative, f"README images with a path relative to the repository: {relative}"
