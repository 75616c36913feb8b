@testable import PostgresClient
import Testing

@Suite struct HostLookupTests {
    /// Each name becomes one entry per address, keeping its own port; socket paths and
    /// numeric addresses stay as they are, with an empty hostaddr.
    @Test func namesAreExpandedToEveryAddressWithTheirPorts() throws {
        let expanded = try #require(try HostLookup.expand(hosts: "localhost,127.0.0.2,/run/postgresql", ports: "5433,5434,5435", deadline: .now + .seconds(5)))
        let portList = try #require(expanded.ports)
        let addresses = expanded.addresses.split(separator: ",", omittingEmptySubsequences: false)
        let hosts = expanded.hosts.split(separator: ",", omittingEmptySubsequences: false)
        let ports = portList.split(separator: ",", omittingEmptySubsequences: false)
        #expect(hosts.count == addresses.count && ports.count == addresses.count)
        #expect(hosts.count >= 3)
        #expect(zip(hosts, addresses).allSatisfy { host, address in host != "localhost" || ["127.0.0.1", "::1"].contains(address) })
        #expect(Array(hosts.suffix(2)) == ["127.0.0.2", "/run/postgresql"] && Array(addresses.suffix(2)) == ["", ""])
        #expect(Array(ports.suffix(2)) == ["5434", "5435"])
        #expect(ports.dropLast(2).allSatisfy { $0 == "5433" })
    }

    @Test func nothingIsLookedUpForAddressesAndSocketsAndASinglePortStays() throws {
        #expect(try HostLookup.expand(hosts: "127.0.0.1,::1,/tmp", ports: "5432", deadline: .now + .seconds(5)) == nil)
        let one = try #require(try HostLookup.expand(hosts: "localhost", ports: "5432", deadline: .now + .seconds(5)))
        #expect(one.ports == nil)
    }

    @Test func anUnknownNameFailsWithLibpqsWords() {
        #expect(throws: PostgresError.self) {
            try HostLookup.expand(hosts: "no-such-host.invalid", ports: nil, deadline: .now + .seconds(5))
        }
    }
}
