import Exporter

/// `/sd`: Prometheus's HTTP service discovery format, one entry per target, so that one
/// `http_sd_configs` job scrapes every target through this exporter's `/probe`.
enum ServiceDiscovery {
    /// The entries: this exporter's address (as the scraper reached it), `/probe` as the path,
    /// the target's name as `?target=`, and the labels `target`, `kind` and the target's own.
    static func json(targets: [TargetConfiguration], exporterAddress: String, scheme: String) -> String {
        let entries = targets.map { target in
            var labels = [
                ("__metrics_path__", "/probe"), ("__param_target", target.name), ("__scheme__", scheme),
                ("target", target.name), ("kind", target.kind.rawValue),
            ]
            labels += target.labels.map { ($0.name, $0.value) }
            let fields = labels.map { "\(JSONText.quoted($0.0)): \(JSONText.quoted($0.1))" }.joined(separator: ", ")
            return "{\"targets\": [\(JSONText.quoted(exporterAddress))], \"labels\": {\(fields)}}"
        }
        return "[" + entries.joined(separator: ",\n ") + "]\n"
    }
}
