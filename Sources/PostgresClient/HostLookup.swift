#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Host names looked up before libpq connects, within the connect deadline: libpq 15 calls
/// `getaddrinfo` inside `PQconnectPoll`, where nothing bounds it. The addresses found are
/// given to libpq as `hostaddr` (the names stay in `host`, for TLS verification and the
/// password file).
enum HostLookup {
    /// The `hostaddr` list for `hosts` (libpq's comma-separated `host`): an address per host
    /// name, empty for socket paths and numeric addresses; `nil` when nothing needs a lookup.
    /// - Throws: ``PostgresError`` (connection failed) when a lookup is still running at `deadline`.
    static func addresses(for hosts: String, deadline: ContinuousClock.Instant) throws -> String? {
        let names = hosts.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingPrefixAndSuffixSpaces() }
        guard names.contains(where: needsLookup) else { return nil }
        var addresses: [String] = []
        for name in names {
            guard needsLookup(name) else {
                addresses.append("")
                continue
            }
            guard let found = DetachedCall.run(until: deadline, { firstAddress(of: name) }) else {
                throw PostgresError(kind: .connectionFailed, message: "looking up host \"\(name)\" took longer than the connect deadline")
            }
            switch found {
            case .success(let address): addresses.append(address)
            case .failure(let problem):
                throw PostgresError(kind: .connectionFailed, message: "could not translate host name \"\(name)\" to address: \(problem.text)")
            }
        }
        return addresses.joined(separator: ",")
    }

    /// Whether `host` is a name (not a socket directory, nor a numeric IPv4 or IPv6 address).
    static func needsLookup(_ host: String) -> Bool {
        guard !host.isEmpty, !host.hasPrefix("/"), !host.hasPrefix("@") else { return false }
        var ipv4 = in_addr()
        var ipv6 = in6_addr()
        return inet_pton(AF_INET, host, &ipv4) != 1 && inet_pton(AF_INET6, host, &ipv6) != 1
    }

    /// The first TCP address `name` resolves to, as text, or the resolver's reason.
    private static func firstAddress(of name: String) -> Result<String, LookupProblem> {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(name, nil, &hints, &list)
        guard status == 0, let first = list else { return .failure(LookupProblem(text: String(cString: gai_strerror(status)))) }
        defer { freeaddrinfo(list) }
        var text = [CChar](repeating: 0, count: Int(NI_MAXHOST))
        let named = getnameinfo(first.pointee.ai_addr, first.pointee.ai_addrlen, &text, socklen_t(text.count), nil, 0, NI_NUMERICHOST)
        guard named == 0 else { return .failure(LookupProblem(text: String(cString: gai_strerror(named)))) }
        return .success(String(cString: text))
    }

    struct LookupProblem: Error {
        let text: String
    }
}

extension Substring {
    fileprivate func trimmingPrefixAndSuffixSpaces() -> String {
        String(drop(while: { $0 == " " }).reversed().drop(while: { $0 == " " }).reversed())
    }
}
