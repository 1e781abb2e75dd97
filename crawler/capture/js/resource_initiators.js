// Run at the start of every document in the capture's own isolated world (the page's scripts
// cannot see or change it): keep what Resource Timing says started each of the document's
// requests. An observer gets every entry, whatever the page does to the timeline's buffer.
(() => {
  const MAX_ENTRIES = 20000;
  const entries = [];
  const keep = records => {
    for (const entry of records) {
      if (entries.length < MAX_ENTRIES) entries.push([entry.name, entry.initiatorType]);
    }
  };
  try {
    const observer = new PerformanceObserver(list => keep(list.getEntries()));
    observer.observe({type: 'resource', buffered: true});
    globalThis.__hostpairsResourceInitiators = () => {
      keep(observer.takeRecords());
      return entries;
    };
  } catch (error) {
    // No Resource Timing in this document: its requests keep the causes DevTools gives.
  }
})();
