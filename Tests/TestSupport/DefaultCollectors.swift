/// How many collectors run by default on each kind of target, as the black-box tests count
/// them in `pgstack_exporter_collector_success` (a no-server test checks these against the
/// collector catalog, so a new collector changes one place).
public enum DefaultCollectors {
    public static let postgres = 16
    public static let pgbouncer = 6
}
