/// Families made safe to encode: each name once, each series once.
///
/// Collectors of several targets may emit the same family (`pg_up` for two servers), and a
/// server may return two rows that map to the same labels (two standbys with one name). The
/// exposition format allows neither a family written twice nor a series written twice, and a
/// scraper rejects the *whole* scrape when it sees one. So instead of failing, this merges
/// families by name, keeps the first of any duplicate series and counts what it dropped.
public struct FamilySet: Sendable {
    /// The families, in the order their names first appeared, each with unique series.
    public private(set) var families: [MetricFamily] = []
    /// Series dropped as duplicates, or because their family's name or type was invalid.
    public private(set) var droppedSeries = 0

    private var indexByName: [String: Int] = [:]
    private var seenLabels: [Set<[Label]>] = []

    public init() {}

    /// Adds families, merging by name and dropping duplicate or unencodable series.
    public mutating func add(_ newFamilies: [MetricFamily]) {
        for family in newFamilies { add(family) }
    }

    /// Adds one family (see ``add(_:)-(MetricFamily)``).
    public mutating func add(_ family: MetricFamily) {
        guard MetricFamily.isValidName(family.name) else {
            droppedSeries += family.samples.count
            return
        }
        let index: Int
        if let existing = indexByName[family.name] {
            guard families[existing].type == family.type else {
                droppedSeries += family.samples.count
                return
            }
            index = existing
        } else {
            index = families.count
            indexByName[family.name] = index
            families.append(MetricFamily(name: family.name, help: family.help, type: family.type))
            seenLabels.append([])
        }
        // Sized once: growing a set of label arrays rehashes every one of them.
        seenLabels[index].reserveCapacity(seenLabels[index].count + family.samples.count)
        families[index].samples.reserveCapacity(families[index].samples.count + family.samples.count)
        for sample in family.samples {
            if seenLabels[index].insert(sample.labels).inserted {
                families[index].samples.append(sample)
            } else {
                droppedSeries += 1
            }
        }
    }
}
