import Exposition
#if canImport(Glibc)
import Glibc
#endif

/// The standard `process_*` metrics, read from `/proc/self` (Linux).
enum ProcessMetrics {
    static func families() -> [MetricFamily] {
        #if os(Linux)
        guard let stat = readFile("/proc/self/stat"), let fieldsStart = stat.lastIndex(of: ")") else { return [] }
        // Fields after "(comm)": state is field 3; utime 14, stime 15, starttime 22, vsize 23, rss 24.
        let fields = stat[stat.index(after: fieldsStart)...].split(separator: " ")
        func field(_ number: Int) -> Double { Double(fields[number - 3]) ?? 0 }
        let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
        let pageSize = Double(sysconf(Int32(_SC_PAGESIZE)))
        var families: [MetricFamily] = [
            .counter("process_cpu_seconds_total", help: "Total user and system CPU time spent in seconds.",
                     samples: [Sample(value: (field(14) + field(15)) / ticks)]),
            .gauge("process_resident_memory_bytes", help: "Resident memory size in bytes.", samples: [Sample(value: field(24) * pageSize)]),
            .gauge("process_virtual_memory_bytes", help: "Virtual memory size in bytes.", samples: [Sample(value: field(23))]),
            .gauge("process_open_fds", help: "Number of open file descriptors.", samples: [Sample(value: Double(openFileDescriptors()))]),
        ]
        var limit = rlimit()
        if getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 {
            families.append(.gauge("process_max_fds", help: "Maximum number of open file descriptors.", samples: [Sample(value: Double(limit.rlim_cur))]))
        }
        if let bootTime = bootTimeSeconds() {
            families.append(.gauge("process_start_time_seconds", help: "Start time of the process since unix epoch in seconds.",
                                   samples: [Sample(value: bootTime + field(22) / ticks)]))
        }
        families.append(.gauge("process_threads", help: "Number of OS threads in the process.", samples: [Sample(value: field(20))]))
        return families
        #else
        return []
        #endif
    }

    #if os(Linux)
    private static func readFile(_ path: String) -> String? {
        guard let file = fopen(path, "r") else { return nil }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = fread(&buffer, 1, buffer.count, file)
            if count <= 0 { break }
            bytes += buffer[0..<count]
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    private static func openFileDescriptors() -> Int {
        guard let directory = opendir("/proc/self/fd") else { return 0 }
        defer { closedir(directory) }
        var count = 0
        while readdir(directory) != nil { count += 1 }
        return max(0, count - 3)  // ".", ".." and the descriptor opendir itself holds
    }

    private static func bootTimeSeconds() -> Double? {
        guard let stat = readFile("/proc/stat") else { return nil }
        for line in stat.split(separator: "\n") where line.hasPrefix("btime ") {
            return Double(line.dropFirst(6))
        }
        return nil
    }
    #endif
}
