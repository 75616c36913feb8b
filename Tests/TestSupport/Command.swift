import Subprocess
import SystemPackage

/// Runs programs for tests (curl, promtool, scripts/testbed.py).
public enum Command {
    /// What a finished program printed and how it ended.
    public struct Output: Sendable {
        public let exitCode: Int32?
        public let standardOutput: [UInt8]
        public let standardError: String

        public var text: String { String(decoding: standardOutput, as: UTF8.self) }
    }

    /// Runs `program` (a path, or a name looked up in `PATH`) and collects its output.
    /// `environment` is added to (or, for an empty value, removed from) the test's own.
    public static func run(_ program: String, _ arguments: [String], input: String? = nil, environment: [String: String] = [:]) async throws -> Output {
        let executable: Executable = program.contains("/") ? .path(.init(program)) : .name(program)
        var updates: [Environment.Key: String?] = [:]
        for (key, value) in environment { updates[Environment.Key(rawValue: key)!] = value.isEmpty ? nil : value }
        let result = try await Subprocess.run(
            executable, arguments: Arguments(arguments),
            environment: .inherit.updating(updates),
            input: .string(input ?? ""),
            output: .bytes(limit: 64 << 20),
            error: .string(limit: 1 << 20))
        var exitCode: Int32?
        if case .exited(let code) = result.terminationStatus { exitCode = code }
        return Output(exitCode: exitCode, standardOutput: result.standardOutput, standardError: result.standardError)
    }

    /// Runs `program` and throws unless it exits 0.
    @discardableResult
    public static func check(_ program: String, _ arguments: [String], input: String? = nil) async throws -> Output {
        let output = try await run(program, arguments, input: input)
        guard output.exitCode == 0 else {
            throw CommandFailed(command: ([program] + arguments).joined(separator: " "), output: output)
        }
        return output
    }
}

/// A program exited with an error.
public struct CommandFailed: Error, CustomStringConvertible {
    public let command: String
    public let output: Command.Output
    public var description: String {
        "\(command) exited with \(output.exitCode.map(String.init) ?? "a signal"): \(output.standardError) \(output.text)"
    }
}
