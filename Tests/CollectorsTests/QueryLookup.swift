import Collectors

extension Collector {
    /// The query that produces `metric`, so that a test names what it checks instead of a
    /// position in ``queries``.
    func query(producing metric: String) -> MetricQuery? {
        queries.first { query in query.metrics.contains { $0.name == metric } }
    }
}
