import Foundation

/// Freezes a server of the test bed as a hung machine would look from the network: every
/// process of it stopped (SIGSTOP), its sockets still open, nothing answered.
public struct Freeze: Sendable {
    let pids: [String]

    /// Stops `server` (`primary`, `replica`, `subscriber` or `pgbouncer`): PostgreSQL's postmaster and every
    /// backend, or the PgBouncer process.
    public static func stop(_ server: String) async throws -> Freeze {
        let directory = ProcessInfo.processInfo.environment["PGSTACK_TESTBED_DIR"] ?? "/tmp/pgstack-testbed"
        let pidFile = server == "pgbouncer" ? "\(directory)/pgbouncer.pid" : "\(directory)/\(server)/postmaster.pid"
        let text = try String(contentsOfFile: pidFile, encoding: .utf8)
        guard let main = text.split(separator: "\n").first.map(String.init), Int(main) != nil else { throw NoProcess(server: server) }
        let children = try await Command.run("pgrep", ["-P", main]).text.split(separator: "\n").map(String.init)
        let freeze = Freeze(pids: [main] + children)
        try await Command.check("kill", ["-STOP"] + freeze.pids)
        return freeze
    }

    /// Lets the processes run again.
    public func resume() async {
        _ = try? await Command.run("kill", ["-CONT"] + pids)
    }

    /// Runs `body` while `server` is frozen, and resumes it whatever `body` does.
    public static func during<T>(_ server: String, _ body: () async throws -> T) async throws -> T {
        let freeze = try await stop(server)
        return try await withCleanup(body) { await freeze.resume() }
    }

    struct NoProcess: Error {
        let server: String
    }
}
