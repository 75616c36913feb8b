import Foundation
import Subprocess
import Synchronization
import SystemPackage

/// The real `pgstack_exporter` binary, started for a test on a free loopback port with its
/// log (standard error) in a file, and stopped with SIGTERM. The log (and the config file
/// written for it) are removed once the test lets go of it: a test may read the log after
/// stopping the exporter.
public final class ExporterProcess: Sendable {
    public let port: Int
    public let logPath: String
    private let run: Task<TerminationStatus?, any Error>
    /// Files and directories made for this exporter, removed with it.
    private let ownedPaths: [String]

    private init(port: Int, logPath: String, run: Task<TerminationStatus?, any Error>, ownedPaths: [String]) {
        self.port = port
        self.logPath = logPath
        self.run = run
        self.ownedPaths = ownedPaths
    }

    deinit {
        for path in ownedPaths { try? FileManager.default.removeItem(atPath: path) }
    }

    /// The binary built beside the test bundle.
    public static var binaryPath: String {
        let testBinary = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        return URL(fileURLWithPath: testBinary).deletingLastPathComponent().appendingPathComponent("pgstack_exporter").path
    }

    /// Starts the exporter with `arguments` (a listen address on port 0 is added) and
    /// `environment`, and waits until it listens. `launcher` runs it (e.g. `ip netns exec NAME`).
    public static func start(_ arguments: [String], environment: [String: String] = [:], launcher: [String] = []) async throws -> ExporterProcess {
        try await start(arguments, environment: environment, launcher: launcher, owning: [])
    }

    private static func start(_ arguments: [String], environment: [String: String], launcher: [String], owning: [String]) async throws -> ExporterProcess {
        let logPath = NSTemporaryDirectory() + "pgstack-exporter-\(UUID().uuidString).log"
        let log = try FileDescriptor.open(FilePath(logPath), .writeOnly, options: [.create, .truncate], permissions: .ownerReadWrite)
        var platform = PlatformOptions()
        platform.teardownSequence = [.gracefulShutDown(allowedDurationToNextStep: .seconds(10))]
        var updates: [Environment.Key: String?] = [:]
        for (key, value) in environment { updates[Environment.Key(rawValue: key)!] = value }
        let binary = binaryPath
        let exited = Mutex(false)
        let run = Task {
            defer { exited.withLock { $0 = true } }
            let command = launcher + [binary] + arguments + ["--web.listen-address", "127.0.0.1:0"]
            let result = try await Subprocess.run(
                command[0].contains("/") ? .path(FilePath(command[0])) : .name(command[0]),
                arguments: Arguments(Array(command.dropFirst())),
                environment: .inherit.updating(updates),
                platformOptions: platform,
                output: .discarded,
                error: .fileDescriptor(log, closeAfterSpawningProcess: true))
            return result.terminationStatus as TerminationStatus?
        }
        let clock = ContinuousClock()
        let giveUp = clock.now + .seconds(30)
        while clock.now < giveUp {
            let text = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
            if let port = listeningPort(in: text) {
                return ExporterProcess(port: port, logPath: logPath, run: run, ownedPaths: owning + [logPath])
            }
            if exited.withLock({ $0 }) { break }  // it died at start: say so now, not in 30 s
            try await Task.sleep(for: .milliseconds(50))
        }
        run.cancel()
        let text = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
        for path in owning + [logPath] { try? FileManager.default.removeItem(atPath: path) }
        throw ExporterDidNotStart(log: text)
    }

    /// Starts the exporter on a config file of `targets` (the YAML list's items) written for it.
    public static func start(targets: String, arguments: [String] = []) async throws -> ExporterProcess {
        let directory = NSTemporaryDirectory() + "pgstack-config-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try ("targets:\n" + targets).write(toFile: directory + "/config.yml", atomically: true, encoding: .utf8)
        return try await start(["--config.file", directory + "/config.yml"] + arguments, environment: [:], launcher: [], owning: [directory])
    }

    private static func listeningPort(in log: String) -> Int? {
        guard let range = log.range(of: "listening on 127.0.0.1:") else { return nil }
        return Int(log[range.upperBound...].prefix { $0.isNumber })
    }

    public var baseURL: String { "http://127.0.0.1:\(port)" }

    /// GETs `path` from the exporter.
    public func get(_ path: String, headers: [String: String] = [:], decompress: Bool = true) async throws -> HTTPResponse {
        try await HTTP.get(baseURL + path, headers: headers, decompress: decompress)
    }

    /// Scrapes `/metrics` and parses it.
    public func scrape(headers: [String: String] = [:]) async throws -> ScrapeText {
        let response = try await get("/metrics", headers: headers)
        guard response.status == 200 else { throw UnexpectedStatus(status: response.status, body: response.text) }
        return try ScrapeText(response.text)
    }

    /// The exporter's process id: the process whose standard error is this exporter's log.
    public var pid: Int32? {
        let processes = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return processes.compactMap(Int32.init).first { pid in
            (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/fd/2")) == logPath
        }
    }

    /// Sends `signal` (e.g. SIGHUP) to the exporter.
    public func send(_ signal: Int32) throws {
        guard let pid, kill(pid, signal) == 0 else { throw ExporterDidNotStart(log: "cannot signal the exporter: \(log)") }
    }

    /// POSTs to `path` on the exporter.
    public func post(_ path: String) async throws -> HTTPResponse {
        try await HTTP.get(baseURL + path, curlArguments: ["-X", "POST"])
    }

    /// What the exporter has logged so far.
    public var log: String {
        (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
    }

    /// Sends SIGTERM, waits for the exit, and returns the exit code (`nil` if a signal or
    /// the teardown's SIGKILL ended it).
    @discardableResult
    public func stop() async -> Int32? {
        run.cancel()
        guard case .exited(let code)? = try? await run.value else { return nil }
        return code
    }
}

public struct ExporterDidNotStart: Error, CustomStringConvertible {
    public let log: String
    public var description: String { "the exporter did not start listening; its log:\n\(log)" }
}

public struct UnexpectedStatus: Error, CustomStringConvertible {
    public let status: Int
    public let body: String

    public init(status: Int, body: String) {
        self.status = status
        self.body = body
    }

    public var description: String { "HTTP \(status): \(body)" }
}

/// Runs `body`, then stops `exporter` whether `body` returned or threw: the structured form of
/// starting an exporter for a test and stopping it at the end.
public func stopping<T>(_ exporter: ExporterProcess, after body: () async throws -> T) async throws -> T {
    try await withCleanup(body) { await exporter.stop() }
}
