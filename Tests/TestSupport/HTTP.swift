/// A response fetched with curl.
public struct HTTPResponse: Sendable {
    public let status: Int
    /// Header names in lower case.
    public let headers: [String: String]
    public let body: [UInt8]

    public var text: String { String(decoding: body, as: UTF8.self) }
}

/// HTTP requests made the way an operator would: with curl.
public enum HTTP {
    /// GETs `url`. With `decompress`, curl asks for gzip and decodes it (as Prometheus does).
    /// `curlArguments` adds to curl's (e.g. `--cacert`, `-u user:password`).
    public static func get(
        _ url: String, headers: [String: String] = [:], decompress: Bool = true, timeoutSeconds: Double = 30, curlArguments: [String] = []
    ) async throws -> HTTPResponse {
        var arguments = ["-sS", "-i", "--max-time", String(timeoutSeconds)] + curlArguments
        if decompress { arguments.append("--compressed") }
        for (name, value) in headers.sorted(by: { $0.key < $1.key }) {
            arguments += ["-H", "\(name): \(value)"]
        }
        arguments.append(url)
        let output = try await Command.check("curl", arguments)
        return try parse(output.standardOutput)
    }

    static func parse(_ raw: [UInt8]) throws -> HTTPResponse {
        let separator: [UInt8] = Array("\r\n\r\n".utf8)
        guard let end = raw.firstRange(of: separator) else { throw MalformedResponse() }
        let head = String(decoding: raw[..<end.lowerBound], as: UTF8.self).split(separator: "\r\n")
        guard let statusLine = head.first, let status = Int(statusLine.split(separator: " ").dropFirst().first ?? "") else {
            throw MalformedResponse()
        }
        var headers: [String: String] = [:]
        for line in head.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingPrefix(" ").description
        }
        return HTTPResponse(status: status, headers: headers, body: Array(raw[end.upperBound...]))
    }

    struct MalformedResponse: Error {}
}
