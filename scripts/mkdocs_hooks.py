"""MkDocs hooks (``hooks:`` in mkdocs.yml): the site works offline and from any folder.

MkDocs writes the 404 page with links from the server's root (``/css/theme.css``), because a
server shows it at any address; a site opened from a folder or served under a sub-path then
has a 404 page without styles. The 404 page sits at the site's root, so its links are made
relative to that (``./css/theme.css``).
"""

from __future__ import annotations

import re

_ROOT_LINK = re.compile(r'(\s(?:href|src))="/(?!/)')


def on_post_template(output_content: str, template_name: str, config) -> str:
    if template_name == "404.html":
        return _ROOT_LINK.sub(r'\1="./', output_content)
    return output_content
