"""RSS and Atom feeds of the issues, served by the archive page."""

from django.contrib.syndication.views import Feed
from django.utils.feedgenerator import Atom1Feed

FEED_LENGTH = 20


class IssueRssFeed(Feed):
    """The newest issues, each with its summary and a link to the web version."""

    def __init__(self, archive):
        super().__init__()
        self.archive = archive

    def title(self):
        return self.archive.title

    def link(self):
        return self.archive.url

    def description(self):
        return self.archive.introduction or self.archive.title

    def items(self):
        return self.archive.issues()[:FEED_LENGTH]

    def item_title(self, item):
        return item.title

    def item_description(self, item):
        return item.search_description or item.introduction

    def item_link(self, item):
        return item.url

    def item_pubdate(self, item):
        return item.first_published_at

    def item_updateddate(self, item):
        return item.last_published_at


class IssueAtomFeed(IssueRssFeed):
    """The same feed as Atom."""

    feed_type = Atom1Feed

    def subtitle(self):
        return self.description()
