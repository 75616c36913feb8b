@testable import Exporter
import Foundation
import Testing

/// Which mappings the exporter gives back (only clean, read-only, private file pages), and that
/// the process runs on afterwards.
@Suite struct ResidentMemoryTests {
    static let smaps = """
        5581a000-5581c000 r--p 00000000 fd:01 1234   /usr/bin/pgstack_exporter
        Rss:                   8 kB
        Anonymous:             0 kB
        Private_Dirty:         0 kB
        Shared_Dirty:          0 kB
        VmFlags: rd mr mw me
        5581c000-55820000 r-xp 00002000 fd:01 1234   /usr/bin/pgstack_exporter
        Rss:                  16 kB
        Anonymous:             0 kB
        Private_Dirty:         0 kB
        Shared_Dirty:          0 kB
        55820000-55821000 r--p 00006000 fd:01 1234   /usr/bin/pgstack_exporter
        Rss:                   4 kB
        Anonymous:             4 kB
        Private_Dirty:         4 kB
        Shared_Dirty:          0 kB
        55821000-55822000 rw-p 00007000 fd:01 1234   /usr/bin/pgstack_exporter
        Rss:                   4 kB
        Anonymous:             0 kB
        Private_Dirty:         0 kB
        Shared_Dirty:          0 kB
        55822000-55900000 rw-p 00000000 00:00 0      [heap]
        Rss:                 100 kB
        Anonymous:           100 kB
        7f000000-7f001000 r--s 00000000 fd:01 99     /dev/shm/shared
        Rss:                   4 kB
        Anonymous:             0 kB
        Private_Dirty:         0 kB
        Shared_Dirty:          0 kB
        7f001000-7f002000 r-xp 00000000 fd:01 98     /usr/lib/libold.so (deleted)
        Rss:                   4 kB
        Anonymous:             0 kB
        Private_Dirty:         0 kB
        Shared_Dirty:          0 kB
        7f002000-7f004000 r--p 00000000 fd:01 97     /usr/lib/libnothing.so
        Rss:                   0 kB
        Anonymous:             0 kB
        Private_Dirty:         0 kB
        Shared_Dirty:          0 kB
        ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0  [vsyscall]
        Rss:                   0 kB
        """

    @Test func onlyCleanReadOnlyPrivateFilePagesAreGivenBack() {
        let mappings = ResidentMemory.cleanReadOnlyFileMappings(in: Self.smaps)
        #expect(mappings == [
            ResidentMemory.Mapping(start: 0x5581a000, end: 0x5581c000, resident: 8192),
            ResidentMemory.Mapping(start: 0x5581c000, end: 0x55820000, resident: 16384),
        ], "not: a relocated (copy-on-write) page, writable data, the heap, a shared mapping, a deleted file, nothing resident")
        #expect(ResidentMemory.cleanReadOnlyFileMappings(in: "").isEmpty)
        #expect(ResidentMemory.cleanReadOnlyFileMappings(in: "garbage-\nRss: x\nzz-yy r--p 0 0 0 /x\nRss: 4 kB\nAnonymous: 0 kB\n").isEmpty)
    }

    /// Heap pages freed behind a block still in use stay with the process until the trim gives
    /// them back (glibc only returns the heap's top by itself).
    @Test func freedHeapPagesAreGivenBack() throws {
        let blocks = (0..<100_000).map { _ in
            let block = UnsafeMutableRawPointer.allocate(byteCount: 512, alignment: 16)
            block.initializeMemory(as: UInt8.self, repeating: 1, count: 512)
            return block
        }
        let pinned = UnsafeMutableRawPointer.allocate(byteCount: 512, alignment: 16)
        defer { pinned.deallocate() }
        blocks.forEach { $0.deallocate() }
        let before = try #require(Self.anonymousBytes())
        ResidentMemory.trim()
        let after = try #require(Self.anonymousBytes())
        #expect(before - after > 25_000_000, "of about 50 MB freed, \(before - after) bytes given back")
    }

    /// The process's anonymous memory (`/proc/self/smaps_rollup`), in bytes.
    static func anonymousBytes() -> Int? {
        let text = try? String(contentsOfFile: "/proc/self/smaps_rollup", encoding: .utf8)
        let line = text?.split(separator: "\n").first { $0.hasPrefix("Anonymous:") }
        return line.flatMap { Int($0.split(separator: " ", omittingEmptySubsequences: true)[1]) }.map { $0 * 1024 }
    }

    @Test func theProcessRunsOnAfterATrim() throws {
        #expect(!ResidentMemory.cleanReadOnlyFileMappings().isEmpty, "this test process has clean file pages")
        let released = ResidentMemory.trim()
        #expect(released > 1_000_000)
        // Code and read-only data come back from the page cache as they are used again.
        for _ in 0..<3 {
            let configuration = try ConfigurationFile.parse(
                "targets:\n  - {name: p, kind: postgres, dsn: \"host=127.0.0.1 dbname=postgres\"}\n", file: "t.yml",
                base: ExporterConfiguration(targets: []), baseLimits: TargetLimits())
            #expect(configuration.targets.map(\.name) == ["p"])
            #expect(DurationText.parse("1m30s") == .seconds(90))
            ResidentMemory.trim()
        }
    }
}
