"""Every list that can grow is cut into pages the same way: PAGE_SIZE rows, a page number
that is not one (or is out of range) shows the first (or last) page instead of an error, and
the links to other pages keep the list's filters. templates/partials/pagination.html draws it."""

from django.core.paginator import Page, Paginator
from django.http import QueryDict

PAGE_SIZE = 50


class ListPage(Page):
    """A page that knows its list's address, so its links keep every other parameter."""

    paginator: "ListPaginator"

    def url(self, number: int) -> str:
        query = self.paginator.query.copy()
        if number > 1:
            query[self.paginator.param] = str(number)
        encoded = query.urlencode()
        return f"{self.paginator.path}?{encoded}" if encoded else self.paginator.path

    @property
    def current_query(self) -> str:
        """This page's query string (filters and page number), for an action on one of its
        rows that re-renders the list where it was."""
        query = self.paginator.query.copy()
        if self.number > 1:
            query[self.paginator.param] = str(self.number)
        return query.urlencode()

    @property
    def first_url(self) -> str:
        return self.url(1)

    @property
    def previous_url(self) -> str:
        return self.url(self.previous_page_number())

    @property
    def next_url(self) -> str:
        return self.url(self.next_page_number())

    @property
    def last_url(self) -> str:
        return self.url(self.paginator.num_pages)

    @property
    def numbers(self) -> dict[str, str]:
        """First and last row shown, the total and the page numbers, in the reader's locale
        (3,000 in English, 3.000 in Portuguese and Spanish)."""
        from babel.numbers import format_decimal

        from accounts.locales import babel_locale

        locale = babel_locale()
        values = {
            "first": self.start_index(),
            "last": self.end_index(),
            "total": self.paginator.count,
            "number": self.number,
            "pages": self.paginator.num_pages,
        }
        return {key: format_decimal(value, locale=locale) for key, value in values.items()}


class ListPaginator(Paginator):
    def __init__(self, object_list, per_page, *, path: str, query: QueryDict, param: str):
        super().__init__(object_list, per_page)
        self.path = path
        self.param = param
        # The list's filters, without its own page number.
        self.query = query.copy()
        self.query.pop(param, None)

    def _get_page(self, *args, **kwargs) -> ListPage:
        return ListPage(*args, **kwargs)

    def nearest_page(self, number) -> ListPage:
        """The page asked for; the first if it is not a number or below 1, the last if past
        the end. Never an error: an old bookmark or a shrunken list still shows rows."""
        try:
            wanted = int(str(number).strip())
        except (TypeError, ValueError):
            wanted = 1
        return self.page(min(max(wanted, 1), self.num_pages))


def paginate(
    request,
    object_list,
    *,
    param: str = "page",
    per_page: int = PAGE_SIZE,
    path: str | None = None,
    query: QueryDict | None = None,
) -> ListPage:
    """The page of `object_list` that `request` asks for (`?page=`, or `param` where one
    screen has two lists). `path` and `query` are the list's own address and filters, for a
    list re-rendered by an action posted elsewhere; they default to the request's."""
    paginator = ListPaginator(
        object_list,
        per_page,
        path=path if path is not None else request.path,
        query=query if query is not None else request.GET,
        param=param,
    )
    source = query if query is not None else request.GET
    return paginator.nearest_page(source.get(param))


# The admin's changelists: at most this many rows a page (Django's own default, said once).
ADMIN_PAGE_SIZE = 100
