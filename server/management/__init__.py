"""Managing users, areas, departments and categories (the web admin's management pages)."""
