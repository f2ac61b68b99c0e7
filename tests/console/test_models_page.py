"""The console's model page: supervisors see which version serves and its figures."""

from __future__ import annotations

from gapdesk.registry import Registry
from tests.console.conftest import sign_in


def test_supervisors_see_the_serving_version_and_its_figures(
    app_factory, console_store, tmp_path
) -> None:
    client = app_factory()
    models = client.app.state.settings.models_path  # type: ignore[attr-defined]
    models.mkdir(parents=True, exist_ok=True)
    for name in ("a", "b"):
        (models / f"bot-{name}.tar.gz").write_bytes(b"x")
        (models / f"gap-{name}.joblib").write_bytes(b"x")
    registry = Registry(console_store, models)
    evaluation = {"cv_auroc": 0.9324, "nlu_cv_accuracy": 0.9013}
    first = (models / "bot-a.tar.gz", models / "gap-a.joblib")
    registry.register(*first, "train", evaluation=evaluation)
    registry.register(models / "bot-b.tar.gz", models / "gap-b.joblib", "retrain", parent="v1")
    registry.promote("v1")
    registry.refuse("v2", "gap AUROC fell <script>")

    sign_in(client, "supervisor")
    page = client.get("/models")
    assert page.status_code == 200
    assert "v1 <strong>serving</strong>" in page.text and "0.9324" in page.text
    assert "retrain after v1" in page.text and "refused" in page.text
    assert "gap AUROC fell &lt;script&gt;" in page.text  # escaped, as all stored text
