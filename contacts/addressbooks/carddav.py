"""The CardDAV side (RFC 6352), as plain WebDAV requests with `requests`.

Why not the `caldav` library the calendar sync uses: its version 3.6 knows calendars only. It
has no address-book collection, no addressbook-home-set and no vCard resource; for CardDAV it
offers only a DNS/well-known lookup (https only, by domain) and the bare HTTP methods of its
client. The few requests an address book needs are short enough to write out here: discovery
(the server's /.well-known/carddav, the principal, its addressbook-home-set, the address
books there), PROPFIND Depth 1 to list the cards with their ETags, PUT with If-Match (or
If-None-Match: * to create, never overwriting a card we have not seen), GET and DELETE with
If-Match. The server's XML is parsed with defusedxml (no entities, no network).

Every failure becomes an AddressBookFailure with a code from AddressBookError and the server's
answer, never a traceback for the user.
"""

from dataclasses import dataclass
from urllib.parse import quote, unquote, urljoin, urlsplit

import requests
from defusedxml import ElementTree
from django.conf import settings

from contacts.addressbooks.models import AddressBookError

DAV, CARDDAV = "DAV:", "urn:ietf:params:xml:ns:carddav"
VCARD = "text/vcard; charset=utf-8"
MAX_REDIRECTS = 5


class AddressBookFailure(Exception):
    def __init__(self, code: str, detail: str = ""):
        super().__init__(code, detail)
        self.code = code
        self.detail = detail[:500]


@dataclass(frozen=True)
class WriteResult:
    status: int  # 201/204: written, 412: changed there (ETag), 404: gone there
    etag: str


@dataclass(frozen=True)
class RemoteCard:
    etag: str
    text: str


def session(*, username: str, password: str) -> requests.Session:
    client = requests.Session()
    client.auth = (username, password)
    client.headers["User-Agent"] = "CRM address book sync"
    return client


def _timeout() -> int:
    return getattr(settings, "CRM_ADDRESSBOOK_TIMEOUT", 20)


def request(client: requests.Session, method: str, url: str, *, body: str = "", headers: dict | None = None) -> requests.Response:
    """One request; redirects are followed with the same method (requests would turn a
    PROPFIND into a GET), and only on the same host, so the password goes nowhere else."""
    host = urlsplit(url).hostname
    for _hop in range(MAX_REDIRECTS + 1):
        try:
            response = client.request(
                method, url, data=body.encode() if body else None, headers=headers or {},
                timeout=_timeout(), allow_redirects=False,
            )
        except requests.exceptions.SSLError as exc:
            raise AddressBookFailure(AddressBookError.UNREACHABLE, f"TLS: {exc}") from exc
        except (requests.exceptions.ConnectionError, requests.exceptions.Timeout) as exc:
            raise AddressBookFailure(AddressBookError.UNREACHABLE, str(exc)) from exc
        except (requests.exceptions.InvalidURL, requests.exceptions.MissingSchema, requests.exceptions.InvalidSchema,
                requests.exceptions.InvalidHeader, ValueError) as exc:
            raise AddressBookFailure(AddressBookError.NOT_FOUND, str(exc)) from exc
        except requests.exceptions.RequestException as exc:  # a broken answer, too many redirects ...
            raise AddressBookFailure(AddressBookError.UNREACHABLE, str(exc)) from exc
        if response.status_code in (301, 302, 303, 307, 308) and response.headers.get("Location"):
            target = urljoin(url, response.headers["Location"])
            if urlsplit(target).hostname != host:
                raise AddressBookFailure(AddressBookError.NOT_CARDDAV, f"redirect to another host: {target}")
            url = target
            continue
        if response.status_code == 401:
            raise AddressBookFailure(AddressBookError.LOGIN, f"{method} {response.status_code} {response.reason}")
        if response.status_code >= 500:
            raise AddressBookFailure(AddressBookError.SERVER, f"{method} {response.status_code} {response.reason}")
        response.final_url = url
        return response
    raise AddressBookFailure(AddressBookError.NOT_CARDDAV, "too many redirects")


def _propfind(client, url: str, props: str, *, depth: int) -> tuple[str, list[dict]]:
    """(the URL that answered, one dict per response: href plus the properties found)."""
    body = f'<?xml version="1.0" encoding="utf-8"?><d:propfind xmlns:d="DAV:" xmlns:c="{CARDDAV}"><d:prop>{props}</d:prop></d:propfind>'
    response = request(client, "PROPFIND", url, body=body, headers={"Depth": str(depth), "Content-Type": "application/xml; charset=utf-8"})
    if response.status_code == 404:
        raise AddressBookFailure(AddressBookError.NOT_FOUND, f"PROPFIND 404 {url}")
    if response.status_code == 403:
        raise AddressBookFailure(AddressBookError.LOGIN, f"PROPFIND 403 {response.reason}")
    if response.status_code != 207:
        raise AddressBookFailure(AddressBookError.NOT_CARDDAV, f"PROPFIND {response.status_code} {response.reason}")
    try:
        root = ElementTree.fromstring(response.content)
    except Exception as exc:  # noqa: BLE001 (defusedxml raises parse errors and its own refusals)
        raise AddressBookFailure(AddressBookError.NOT_CARDDAV, f"unreadable answer: {exc}") from exc
    found = []
    for item in root.iter(f"{{{DAV}}}response"):
        href = item.findtext(f"{{{DAV}}}href") or ""
        entry: dict = {"href": urljoin(response.final_url, href.strip())}
        for propstat in item.iter(f"{{{DAV}}}propstat"):
            if " 200 " not in f" {propstat.findtext(f'{{{DAV}}}status') or ''} ":
                continue
            for prop in propstat.iter(f"{{{DAV}}}prop"):
                for child in prop:
                    entry[child.tag] = child
        found.append(entry)
    return response.final_url, found


def _href_in(element) -> str | None:
    if element is None:
        return None
    href = element.findtext(f"{{{DAV}}}href")
    return href.strip() if href else None


def _is_addressbook(entry: dict) -> bool:
    kind = entry.get(f"{{{DAV}}}resourcetype")
    return kind is not None and kind.find(f"{{{CARDDAV}}}addressbook") is not None


def _name_of(entry: dict) -> str:
    element = entry.get(f"{{{DAV}}}displayname")
    return (element.text or "").strip() if element is not None else ""


def _candidates(url: str) -> list[str]:
    """Where to look: for a bare server address first its well-known CardDAV address (RFC 6764),
    which the server redirects to its CardDAV root; then the address as given."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise AddressBookFailure(AddressBookError.NOT_FOUND, url)
    if parts.path in ("", "/"):
        return [urljoin(url, "/.well-known/carddav"), url]
    return [url]


def discover(client, *, url: str, name: str) -> tuple[str, str, str]:
    """(server address that answered, address book URL, its display name). The address book
    with `name` (display name or last path segment); the CRM creates it when the account has none
    of that name. Logs in, so it is also the connection test."""
    last: AddressBookFailure | None = None
    for candidate in _candidates(url):
        try:
            answered, entries = _propfind(
                client, candidate, "<d:current-user-principal/><d:resourcetype/><d:displayname/><c:addressbook-home-set/>", depth=0
            )
            break
        except AddressBookFailure as failure:
            last = failure
            if failure.code == AddressBookError.LOGIN:
                raise
    else:
        raise last or AddressBookFailure(AddressBookError.NOT_CARDDAV)
    entry = entries[0] if entries else {}
    if _is_addressbook(entry):  # the address book's own address was given
        return candidate, entry["href"], _name_of(entry)
    home = _href_in(entry.get(f"{{{CARDDAV}}}addressbook-home-set"))
    if home is None:
        principal = _href_in(entry.get(f"{{{DAV}}}current-user-principal"))
        if principal is None:
            raise AddressBookFailure(AddressBookError.NOT_CARDDAV, "no current-user-principal")
        _, principal_entries = _propfind(client, urljoin(answered, principal), "<c:addressbook-home-set/>", depth=0)
        home = _href_in((principal_entries[0] if principal_entries else {}).get(f"{{{CARDDAV}}}addressbook-home-set"))
        if home is None:
            raise AddressBookFailure(AddressBookError.NOT_CARDDAV, "no addressbook-home-set")
    home_url = urljoin(answered, home)
    _, children = _propfind(client, home_url, "<d:resourcetype/><d:displayname/>", depth=1)
    wanted = name.strip().casefold()
    books = [c for c in children if _is_addressbook(c)]
    for book in books:
        names = {_name_of(book).casefold(), unquote(urlsplit(book["href"]).path.rstrip("/").rsplit("/", 1)[-1]).casefold()}
        if not wanted or wanted in names:
            return candidate, book["href"], _name_of(book)
    return candidate, _create(client, home_url, name.strip() or "CRM"), name.strip() or "CRM"


def _create(client, home_url: str, name: str) -> str:
    """A new address book in the account (extended MKCOL, RFC 5689)."""
    slug = "".join(ch if ch.isalnum() else "-" for ch in name.casefold()).strip("-") or "crm"
    url = urljoin(home_url if home_url.endswith("/") else home_url + "/", quote(slug) + "/")
    display = name.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    body = (
        f'<?xml version="1.0" encoding="utf-8"?><d:mkcol xmlns:d="DAV:" xmlns:c="{CARDDAV}"><d:set><d:prop>'
        f"<d:resourcetype><d:collection/><c:addressbook/></d:resourcetype><d:displayname>{display}</d:displayname>"
        "</d:prop></d:set></d:mkcol>"
    )
    response = request(client, "MKCOL", url, body=body, headers={"Content-Type": "application/xml; charset=utf-8"})
    if response.status_code not in (200, 201):
        raise AddressBookFailure(AddressBookError.NO_ADDRESSBOOK, f"MKCOL {response.status_code} {response.reason}")
    return url


def card_href(addressbook_url: str, person_id: int) -> str:
    from contacts.services.vcards import person_uid

    base = addressbook_url if addressbook_url.endswith("/") else addressbook_url + "/"
    return urljoin(base, f"crm-{person_uid(person_id)}.vcf")


def path_of(url: str) -> str:
    """How two hrefs of one server are compared (absolute or not, quoted or not)."""
    return unquote(urlsplit(url).path)


def cards(client, *, addressbook_url: str) -> dict[str, str]:
    """path -> ETag of every card in the address book (one PROPFIND, Depth 1)."""
    _, entries = _propfind(client, addressbook_url, "<d:getetag/><d:resourcetype/>", depth=1)
    own = path_of(addressbook_url).rstrip("/")
    found = {}
    for entry in entries:
        path = path_of(entry["href"])
        if path.rstrip("/") == own:
            continue
        etag = entry.get(f"{{{DAV}}}getetag")
        found[path] = (etag.text or "").strip() if etag is not None else ""
    return found


def _etag_after_write(client, href: str, response) -> str:
    etag = response.headers.get("ETag", "")
    if etag:
        return etag
    # Some servers answer a PUT without the new ETag: it is read back.
    remote = get(client, href=href)
    return remote.etag if remote else ""


def put(client, *, href: str, body: str, etag: str = "") -> WriteResult:
    """Write the card: If-Match on the ETag we know, or If-None-Match: * when we know none."""
    headers = {"Content-Type": VCARD, ("If-Match" if etag else "If-None-Match"): etag or "*"}
    response = request(client, "PUT", href, body=body, headers=headers)
    if response.status_code in (200, 201, 204):
        return WriteResult(response.status_code, _etag_after_write(client, href, response))
    if response.status_code in (404, 412):
        return WriteResult(response.status_code, "")
    if response.status_code == 403 and not etag:
        return WriteResult(412, "")  # some servers refuse an existing UID this way (no-uid-conflict)
    raise AddressBookFailure(AddressBookError.REJECTED, f"PUT {response.status_code} {response.reason} {response.text[:200]}".strip())


def get(client, *, href: str) -> RemoteCard | None:
    response = request(client, "GET", href)
    if response.status_code in (404, 410):
        return None
    if response.status_code != 200:
        raise AddressBookFailure(AddressBookError.SERVER, f"GET {response.status_code} {response.reason}")
    response.encoding = response.encoding or "utf-8"
    return RemoteCard(etag=response.headers.get("ETag", ""), text=response.text)


def delete(client, *, href: str, etag: str) -> int:
    """204 deleted, 404 already gone, 412 changed there since `etag`."""
    response = request(client, "DELETE", href, headers={"If-Match": etag} if etag else {})
    if response.status_code in (200, 204, 404, 410, 412):
        return 404 if response.status_code == 410 else response.status_code
    raise AddressBookFailure(AddressBookError.REJECTED, f"DELETE {response.status_code} {response.reason}")
