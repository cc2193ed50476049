from accounts import acting


class ActingContextMiddleware:
    """Sets ``request.acting``: the ActingContext the user picked, or None."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.acting = acting.resolve(request)
        return self.get_response(request)
