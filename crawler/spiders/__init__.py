"""Spiders of the hostpairs Scrapy project."""
