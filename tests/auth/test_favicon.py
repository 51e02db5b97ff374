"""The favicon is served by the app itself (browsers ask for /favicon.ico on every site)."""
import re


def test_favicon_ico_is_a_local_icon(client):
    with client.get("/favicon.ico") as response:
        assert response.status_code == 200
        assert response.mimetype == "image/vnd.microsoft.icon"
        assert response.data[:4] == b"\x00\x00\x01\x00"  # an ICO directory, one image or more


def test_every_page_links_icons_that_exist(client):
    page = client.get("/login").get_data(as_text=True)
    links = re.findall(r'<link rel="icon" href="([^"]+)"', page)
    assert "/favicon.ico" in links and len(links) == 2
    for href in links:
        with client.get(href) as response:
            assert response.status_code == 200, href
            assert response.mimetype.startswith("image/"), href
