import Foundation

/// A standby of the bed's primary made for one test (`pg_basebackup` into a directory of its
/// own, on a port of its own), so that a test may promote it without touching the bed's replica.
public struct ThrowawayStandby: Sendable {
    public let port: Int
    let directory: String
    let binaries: String

    /// Makes and starts the standby, as the `postgres` user when run as root.
    public static func start(from bed: TestBed) async throws -> ThrowawayStandby {
        let binaries = ProcessInfo.processInfo.environment["PGSTACK_PG_BIN"] ?? "/usr/lib/postgresql/15/bin"
        let directory = NSTemporaryDirectory() + "pgstack-standby-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try await Command.check("chown", ["postgres", directory])
        try await Command.check("chmod", ["700", directory])
        let port = Int.random(in: 40_000...49_000)
        let standby = ThrowawayStandby(port: port, directory: directory, binaries: binaries)
        try await standby.asPostgres("pg_basebackup", ["-h", "127.0.0.1", "-p", String(bed.primaryPort), "-U", "postgres",
                                                       "-D", directory + "/data", "-R", "-X", "stream", "-c", "fast", "--no-sync"])
        let overrides = "\nport = \(port)\nunix_socket_directories = '\(directory)'\ncluster_name = 'pgstack_throwaway'\narchive_mode = off\n"
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: directory + "/data/postgresql.conf"))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(overrides.utf8))
        try handle.close()
        try await standby.asPostgres("pg_ctl", ["-D", directory + "/data", "-l", directory + "/log", "-w", "-t", "60", "start"])
        return standby
    }

    /// The monitoring DSN of the bed, pointed at this standby.
    public func dsn(like bed: TestBed) -> String {
        bed.primaryDSN.replacingOccurrences(of: "port=\(bed.primaryPort)", with: "port=\(port)")
    }

    public func promote() async throws {
        try await asPostgres("pg_ctl", ["-D", directory + "/data", "-w", "promote"])
    }

    /// Stops the server and removes its directory.
    public func remove() async {
        _ = try? await asPostgres("pg_ctl", ["-D", directory + "/data", "-m", "immediate", "stop"])
        try? FileManager.default.removeItem(atPath: directory)
    }

    private func asPostgres(_ program: String, _ arguments: [String]) async throws {
        let path = binaries + "/" + program
        if getuid() == 0 {
            try await Command.check("runuser", ["-u", "postgres", "--", path] + arguments)
        } else {
            try await Command.check(path, arguments)
        }
    }
}
