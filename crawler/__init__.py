"""The hostpairs Scrapy project: the spider, browser and static visits, the DevTools capture,
the pipeline, middlewares, extensions, signals and settings; `watch`."""
