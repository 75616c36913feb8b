#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Host names looked up before libpq connects, within the connect deadline: libpq 15 calls
/// `getaddrinfo` inside `PQconnectStartParams`, where nothing bounds it. Every address found is
/// given to libpq as a `hostaddr` of its own, the name repeated in `host` (for TLS verification
/// and the password file), so libpq still tries each address in turn as it would have.
enum HostLookup {
    /// libpq's `host`, `hostaddr` and (when one was given per host) `port` lists, expanded.
    struct Expanded: Equatable {
        let hosts: String
        let addresses: String
        let ports: String?
    }

    /// The lists for libpq's comma-separated `hosts` and `ports`, each host name replaced by
    /// its addresses (socket paths and numeric addresses kept, with an empty `hostaddr`);
    /// `nil` when nothing needs a lookup.
    /// - Throws: ``PostgresError`` (connection failed) when a lookup fails, or is still running
    ///   at `deadline`.
    static func expand(hosts: String, ports: String?, deadline: ContinuousClock.Instant) throws -> Expanded? {
        let names = hosts.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingPrefixAndSuffixSpaces() }
        guard names.contains(where: needsLookup) else { return nil }
        let portList = ports?.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        let perHostPorts = portList.flatMap { $0.count == names.count && names.count > 1 ? $0 : nil }
        var entries: [(host: String, address: String, port: String?)] = []
        for (index, name) in names.enumerated() {
            let port = perHostPorts?[index]
            guard needsLookup(name) else {
                entries.append((name, "", port))
                continue
            }
            guard let found = DetachedCall.run(until: deadline, { allAddresses(of: name) }) else {
                throw PostgresError(kind: .connectionFailed, message: "looking up host \"\(name)\" took longer than the connect deadline")
            }
            switch found {
            case .success(let addresses): entries += addresses.map { (name, $0, port) }
            case .failure(let problem):
                throw PostgresError(kind: .connectionFailed, message: "could not translate host name \"\(name)\" to address: \(problem.text)")
            }
        }
        return Expanded(
            hosts: entries.map(\.host).joined(separator: ","), addresses: entries.map(\.address).joined(separator: ","),
            ports: perHostPorts == nil ? nil : entries.map { $0.port ?? "" }.joined(separator: ","))
    }

    /// Whether `host` is a name (not a socket directory, nor a numeric IPv4 or IPv6 address).
    static func needsLookup(_ host: String) -> Bool {
        guard !host.isEmpty, !host.hasPrefix("/"), !host.hasPrefix("@") else { return false }
        var ipv4 = in_addr()
        var ipv6 = in6_addr()
        return inet_pton(AF_INET, host, &ipv4) != 1 && inet_pton(AF_INET6, host, &ipv6) != 1
    }

    /// Every TCP address `name` resolves to, as text, in the resolver's order, or its reason.
    private static func allAddresses(of name: String) -> Result<[String], LookupProblem> {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(name, nil, &hints, &list)
        guard status == 0, list != nil else { return .failure(LookupProblem(text: String(cString: gai_strerror(status)))) }
        defer { freeaddrinfo(list) }
        var addresses: [String] = []
        var entry = list
        while let current = entry {
            var text = [CChar](repeating: 0, count: Int(NI_MAXHOST))
            if getnameinfo(current.pointee.ai_addr, current.pointee.ai_addrlen, &text, socklen_t(text.count), nil, 0, NI_NUMERICHOST) == 0 {
                let address = String(cString: text)
                if !addresses.contains(address) { addresses.append(address) }
            }
            entry = current.pointee.ai_next
        }
        return addresses.isEmpty ? .failure(LookupProblem(text: "no address")) : .success(addresses)
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
