"""The customers' page: the widget, named for the business in the knowledge base."""

from __future__ import annotations


def test_the_page_names_the_business_of_the_knowledge_base(app_factory) -> None:
    client = app_factory()
    page = client.get("/")
    business = client.app.state.knowledge_base.business
    assert page.status_code == 200
    assert f"<title>{business.name} · Help</title>" in page.text
    assert f'data-title="{business.name}"' in page.text
    assert f"Ask our assistant about {business.topics}." in page.text
