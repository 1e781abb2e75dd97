"""The hostpairs Scrapy project: spiders, pipelines, settings, browser capture and the CLI."""
