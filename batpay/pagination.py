from rest_framework import pagination
from rest_framework.exceptions import ValidationError


class PageNumberPagination(pagination.PageNumberPagination):
    """`page` and `page_size` (default 50, at most 1000: a larger size is served as 1000).

    A page_size that is not a whole number of at least 1 is a 400 naming it, where DRF would
    silently serve the default size.
    """

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 1000

    def get_page_size(self, request) -> int:
        text = request.query_params.get(self.page_size_query_param, "").strip()
        if not text:
            return self.page_size
        digits = text.lstrip("0")
        if not (text.isascii() and text.isdigit() and digits):
            raise ValidationError({self.page_size_query_param: [f"A whole number from 1 to {self.max_page_size}."]})
        # Compared as text beyond seven digits: int() of a huge string is slow and then refused.
        return self.max_page_size if len(digits) > 7 else min(int(digits), self.max_page_size)
