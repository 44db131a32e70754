"""Reading and editing a test user's Radicale address book from the outside, as their phone would
(plain HTTP, not the CRM's own CardDAV code)."""

import re
from urllib.parse import urljoin

import requests
import vobject

CARDDAV_USER, CARDDAV_PASSWORD = "alice", "Adressbuch-Passwört"


def _auth():
    return (CARDDAV_USER, CARDDAV_PASSWORD)


def book_url(server, name: str = "crm") -> str:
    return f"{server.url}{CARDDAV_USER}/{name}/"


def hrefs(server, name: str = "crm") -> dict[str, str]:
    """href -> ETag of every card in the address book."""
    body = '<?xml version="1.0"?><d:propfind xmlns:d="DAV:"><d:prop><d:getetag/></d:prop></d:propfind>'
    response = requests.request("PROPFIND", book_url(server, name), data=body, headers={"Depth": "1"}, auth=_auth(), timeout=10)
    assert response.status_code == 207, response.text
    found = {}
    for block in re.findall(r"<(?:\w+:)?response>(.*?)</(?:\w+:)?response>", response.text, re.S):
        href = re.search(r"<(?:\w+:)?href>(.*?)</(?:\w+:)?href>", block).group(1)
        etag = re.search(r"<(?:\w+:)?getetag>(.*?)</(?:\w+:)?getetag>", block)
        if href.endswith(".vcf"):
            found[urljoin(server.url, href)] = etag.group(1).replace("&quot;", '"') if etag else ""
    return found


def cards(server, name: str = "crm") -> dict[str, vobject.base.Component]:
    """UID -> the parsed card, of every card in the address book."""
    found = {}
    for href in hrefs(server, name):
        text = requests.get(href, auth=_auth(), timeout=10).content.decode()
        card = vobject.readOne(text)
        found[card.uid.value] = card
    return found


def edit(server, href: str, change) -> None:
    """Change a card as the phone's contacts app does (a new ETag)."""
    response = requests.get(href, auth=_auth(), timeout=10)
    card = vobject.readOne(response.content.decode())
    change(card)
    put = requests.put(href, data=card.serialize().encode(), headers={"Content-Type": "text/vcard; charset=utf-8",
                       "If-Match": response.headers["ETag"]}, auth=_auth(), timeout=10)
    assert put.status_code in (201, 204), put.text


def delete(server, href: str) -> None:
    assert requests.delete(href, auth=_auth(), timeout=10).status_code in (200, 204)
