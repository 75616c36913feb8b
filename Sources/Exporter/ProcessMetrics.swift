import Collectors
import Exposition
#if canImport(Glibc)
import Glibc
#endif

/// The standard `process_*` metrics, read from `/proc/self` (Linux).
enum ProcessMetrics {
    static let cpu = MetricDescription(name: "process_cpu_seconds_total", type: .counter, help: "Total user and system CPU time spent in seconds.", labels: [])
    static let resident = MetricDescription(name: "process_resident_memory_bytes", type: .gauge, help: "Resident memory size in bytes.", labels: [])
    static let virtual = MetricDescription(name: "process_virtual_memory_bytes", type: .gauge, help: "Virtual memory size in bytes.", labels: [])
    static let openFDs = MetricDescription(name: "process_open_fds", type: .gauge, help: "Number of open file descriptors.", labels: [])
    static let maxFDs = MetricDescription(name: "process_max_fds", type: .gauge, help: "Maximum number of open file descriptors.", labels: [])
    static let startTime = MetricDescription(
        name: "process_start_time_seconds", type: .gauge, help: "Start time of the process since unix epoch in seconds.", labels: [])
    static let threads = MetricDescription(name: "process_threads", type: .gauge, help: "Number of OS threads in the process.", labels: [])

    /// Every process metric, for the docs.
    static let all = [cpu, resident, virtual, openFDs, maxFDs, startTime, threads]

    static func families() -> [MetricFamily] {
        #if os(Linux)
        guard let stat = readFile("/proc/self/stat"), let fieldsStart = stat.lastIndex(of: ")") else { return [] }
        // Fields after "(comm)" start at field 3 (state); see proc(5) for the numbering.
        let fields = stat[stat.index(after: fieldsStart)...].split(separator: " ")
        func field(_ number: Int) -> Double { Double(fields[number - 3]) ?? 0 }
        let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
        let pageSize = Double(sysconf(Int32(_SC_PAGESIZE)))
        func one(_ description: MetricDescription, _ value: Double) -> MetricFamily {
            MetricFamily(description, samples: [Sample(value: value)])
        }
        var families = [
            one(cpu, (field(14) + field(15)) / ticks),
            one(resident, field(24) * pageSize),
            one(virtual, field(23)),
            one(openFDs, Double(openFileDescriptors())),
            one(threads, field(20)),
        ]
        var limit = rlimit()
        if getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 {
            families.append(one(maxFDs, Double(limit.rlim_cur)))
        }
        if let bootTime = bootTimeSeconds() {
            families.append(one(startTime, bootTime + field(22) / ticks))
        }
        return families
        #else
        return []
        #endif
    }

    #if os(Linux)
    /// A `/proc` file's text (their size is 0 to `stat`, so they are read to the end).
    static func readFile(_ path: String) -> String? {
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
