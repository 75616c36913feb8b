import CHeap
#if canImport(Glibc)
import Glibc
#endif

/// Gives back resident pages the process no longer uses, so that its RSS is what it works
/// with: most of it was clean pages of the binary and of the Swift and Foundation libraries,
/// touched once at start-up and then left resident (docs/performance.md, "RSS").
///
/// What the kernel does by itself under memory pressure, done early: read-only file mappings
/// whose every page is clean and unmodified (no copy-on-write page: `Anonymous` and the dirty
/// counts are 0 in `/proc/self/smaps`) get `MADV_DONTNEED`, which drops their pages from this
/// process's page tables only; a page used again comes back from the page cache (a minor
/// fault), identical, since nothing of it was ever written.
///
/// Free heap pages go back to the kernel with each trim too; the process has one malloc arena
/// (both in the CHeap target), so that few pages are free and scattered.
///
/// Written by hand: no library does this; it is Linux's `/proc`, one system call and one glibc call.
enum ResidentMemory {
    /// How often the exporter trims (the first time one interval after the start, once the
    /// start-up code has run and the first scrapes warmed the working set).
    static let interval: Duration = .seconds(60)

    /// Trims, and returns how many bytes of file mappings were released (0 off Linux); free heap
    /// pages go back too.
    @discardableResult
    static func trim() -> Int {
        #if os(Linux)
        pgstack_release_free_heap()
        var released = 0
        for mapping in cleanReadOnlyFileMappings() {
            guard let start = UnsafeMutableRawPointer(bitPattern: mapping.start) else { continue }
            if madvise(start, mapping.end - mapping.start, MADV_DONTNEED) == 0 { released += mapping.resident }
        }
        return released
        #else
        return 0
        #endif
    }

    struct Mapping: Equatable {
        let start: Int
        let end: Int
        /// Resident bytes before the trim.
        let resident: Int
    }

    /// The mappings of `/proc/self/smaps` that are file-backed, not writable, resident and wholly clean.
    static func cleanReadOnlyFileMappings() -> [Mapping] {
        guard let text = ProcessMetrics.readFile("/proc/self/smaps") else { return [] }
        return cleanReadOnlyFileMappings(in: text)
    }

    /// The same, from `smaps` text (separate, so it can be tested on a fixed text).
    static func cleanReadOnlyFileMappings(in smaps: String) -> [Mapping] {
        var mappings: [Mapping] = []
        var current: (start: Int, end: Int, eligible: Bool)?
        var fields: [Substring: Int] = [:]
        func finish() {
            guard let mapping = current, mapping.eligible, let resident = fields["Rss"], resident > 0,
                  fields["Anonymous"] == 0, fields["Private_Dirty"] == 0, fields["Shared_Dirty"] == 0 else { return }
            mappings.append(Mapping(start: mapping.start, end: mapping.end, resident: resident * 1024))
        }
        for line in smaps.split(separator: "\n") {
            let words = line.split(separator: " ", omittingEmptySubsequences: true)
            guard let first = words.first else { continue }
            if first.hasSuffix(":") {
                if words.count >= 2, let value = Int(words[1]) { fields[first.dropLast()] = value }
                continue
            }
            // A mapping header: start-end perms offset dev inode [path].
            finish()
            fields = [:]
            let range = first.split(separator: "-")
            guard words.count >= 6, range.count == 2, let start = Int(range[0], radix: 16), let end = Int(range[1], radix: 16), end > start else {
                current = nil
                continue
            }
            let permissions = words[1]
            let path = words[5]
            // Private, readable, never writable, backed by a regular file (not [heap], [stack], memfd…).
            let eligible = permissions.count == 4 && permissions.hasPrefix("r") && !permissions.contains("w") && permissions.hasSuffix("p")
                && path.hasPrefix("/") && !line.hasSuffix("(deleted)")
            current = (start, end, eligible)
        }
        finish()
        return mappings
    }
}
