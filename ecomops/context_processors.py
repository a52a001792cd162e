from ecomops.scoping import stores_for_user


def stores(request):
    """The store switcher's list, for every page."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"user_stores": []}
    return {"user_stores": list(stores_for_user(user).values("slug", "name", "is_demo"))}
