"""`mtlsform comment`: the plan comment is found by its marker and updated in place, on GitHub
(PATCH) and GitLab (PUT), through pages of other comments, against a local stand-in of the two
forges' APIs; refusals are one message, and the token is never shown."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from mtlsform.cli.main import run
from tests.pullrequest.forge import TOKEN, served_forge

MARKER = "<!-- mtlsform-plan: example -->"


@pytest.fixture
def post(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
         ) -> Callable[..., tuple[int, str]]:
    for name in ("GITHUB_ACTIONS", "GITLAB_CI", "GITHUB_EVENT_PATH", "GITHUB_TOKEN",
                 "GITLAB_TOKEN", "CI_MERGE_REQUEST_IID", "NO_COLOR"):
        monkeypatch.delenv(name, raising=False)

    def invoke(body: str, *args: str) -> tuple[int, str]:
        path = tmp_path / "comment.md"
        path.write_text(body)
        capsys.readouterr()
        code = run(["comment", str(path), *args])
        captured = capsys.readouterr()
        return code, captured.out + captured.err

    return invoke


def test_github_comment_is_created_then_updated_in_place(post, monkeypatch, tmp_path):
    with served_forge() as forge:
        monkeypatch.setenv("GITHUB_ACTIONS", "true")
        monkeypatch.setenv("GITHUB_API_URL", forge.url)
        monkeypatch.setenv("GITHUB_REPOSITORY", "acme/infra")
        monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
        event = tmp_path / "event.json"
        event.write_text('{"pull_request": {"number": 7}}')
        monkeypatch.setenv("GITHUB_EVENT_PATH", str(event))
        for n in range(150):  # other comments fill the first page and a half
            forge.add("acme/infra", 7, f"looks good {n}")
        forge.add("acme/infra", 7, "<!-- mtlsform-plan: other -->\nanother stack's plan")

        code, out = post(f"{MARKER}\nfirst plan\n")
        assert code == 0, out
        assert out.startswith("Created the plan comment on pull request 7 of acme/infra: "
                              f"{forge.url}/comment/"), out
        code, out = post(f"{MARKER}\nsecond plan\n")
        assert code == 0, out
        assert out.startswith("Updated the plan comment on pull request 7 of acme/infra"), out

        bodies = forge.bodies("acme/infra", 7)
        assert len(bodies) == 152  # one plan comment, updated: not a second one
        assert bodies[-1] == f"{MARKER}\nsecond plan\n"
        assert bodies[-2] == "<!-- mtlsform-plan: other -->\nanother stack's plan"
        assert bodies[0] == "looks good 0"
        methods = [method for method, _ in forge.requests]
        assert methods.count("POST") == 1 and methods.count("PATCH") == 1
        assert forge.refused == 0
        assert TOKEN not in out


def test_gitlab_note_is_created_then_updated_in_place(post, monkeypatch):
    with served_forge() as forge:
        monkeypatch.setenv("GITLAB_CI", "true")
        monkeypatch.setenv("CI_API_V4_URL", f"{forge.url}/api/v4")
        monkeypatch.setenv("CI_PROJECT_ID", "42")
        monkeypatch.setenv("CI_MERGE_REQUEST_IID", "3")
        monkeypatch.setenv("GITLAB_TOKEN", TOKEN)
        forge.add("42", 3, "please check the weights")
        assert post(f"{MARKER}\nfirst\n")[0] == 0
        code, out = post(f"{MARKER}\nsecond\n")
        assert code == 0, out
        assert out.startswith("Updated the plan comment on merge request 3 of 42"), out
        assert forge.bodies("42", 3) == ["please check the weights", f"{MARKER}\nsecond\n"]
        assert [m for m, _ in forge.requests].count("PUT") == 1


def test_refusals_are_one_message_without_the_token(post, monkeypatch):
    with served_forge() as forge:
        monkeypatch.setenv("GITHUB_API_URL", forge.url)
        monkeypatch.setenv("GITHUB_TOKEN", "ghp_wrongToken")
        code, out = post(f"{MARKER}\nplan\n", "--on", "github", "--repo", "acme/infra",
                         "--pr", "7")
        assert code == 1
        assert out.splitlines()[0] == (
            f"error: GET {forge.url}/repos/acme/infra/issues/7/comments answered 401: "
            "Bad credentials"), out
        assert "GITHUB_TOKEN" in out and "ghp_wrongToken" not in out
        assert "Traceback" not in out

        monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
        forge.redirect_to = "http://127.0.0.1:9/elsewhere"
        code, out = post(f"{MARKER}\nplan\n", "--on", "github", "--repo", "acme/infra",
                         "--pr", "7")
        assert code == 1 and "answered 302" in out and TOKEN not in out, out
        forge.redirect_to = None

        code, out = post("no marker here\n", "--on", "github", "--repo", "acme/infra",
                         "--pr", "7")
        assert code == 1 and "does not start with the mtlsform plan marker" in out, out
        assert forge.bodies("acme/infra", 7) == []

        monkeypatch.delenv("GITHUB_TOKEN")
        code, out = post(f"{MARKER}\nplan\n", "--on", "github", "--repo", "acme/infra",
                         "--pr", "7")
        assert code == 1
        assert out.splitlines()[0] == "error: GITHUB_TOKEN is not set: the comment cannot be " \
                                      "posted", out


def test_unreachable_forge_is_one_message(post, monkeypatch):
    monkeypatch.setenv("GITHUB_API_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    code, out = post(f"{MARKER}\nplan\n", "--on", "github", "--repo", "acme/infra",
                     "--pr", "7")
    assert code == 1 and out.startswith("error: GET http://127.0.0.1:9/repos/acme/infra/"
                                        "issues/7/comments failed:"), out
    assert TOKEN not in out and "Traceback" not in out


def test_artifact_url_goes_only_with_markdown_and_must_be_a_web_address(capsys, monkeypatch):
    monkeypatch.chdir(Path(__file__).resolve().parents[2])
    for args, first in (
            (("plan", "x.yaml", "--json", "--artifact-url", "https://ci.example/1"),
             "error: --artifact-url needs --format markdown"),
            (("show", "x.yaml", "--artifact-url", "https://ci.example/1"),
             "error: --artifact-url needs --format markdown"),
            (("plan", "x.yaml", "--format", "markdown", "--artifact-url", "file:///etc/x"),
             "error: --artifact-url 'file:///etc/x' is not an http or https URL"),
            (("show", "stacks/example.yaml", "--format", "markdown", "--artifact-url",
              "https://ci.example/1"),
             "error: --artifact-url and a stack (not a saved plan) cannot be given together")):
        capsys.readouterr()
        assert run(list(args)) == 1
        err = capsys.readouterr().err
        assert err.splitlines()[0] == first, err
