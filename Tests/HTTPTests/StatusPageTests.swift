import Collectors
import Foundation
import Exporter
import Hummingbird
import HummingbirdTesting
import PostgresClient
import Testing
import TestSupport

/// The status page at `/` in-process: what it lists, that it escapes, shows no secret or
/// host, says "not scraped yet" until a scrape, and shows a failed scrape as down.
@Suite struct StatusPageTests {
    /// A PostgreSQL target whose name holds every character HTML gives a meaning to.
    static let hostileName = "db<script>&\"'"

    static func hostile() throws -> TargetConfiguration {
        TargetConfiguration(
            name: hostileName, kind: .postgres,
            connectionString: try ConnectionString("host=127.0.0.1 port=1 user=u password=\(RoutesTests.password) dbname=d"))
    }

    /// The `<section>` of the target `name` (as it appears escaped in the page).
    static func section(_ page: String, _ escapedName: String) -> String? {
        guard let start = page.range(of: "data-target=\"\(escapedName)\"") else { return nil }
        let rest = page[start.lowerBound...]
        return String(rest[..<(rest.range(of: "</section>")?.upperBound ?? rest.endIndex)])
    }

    @Test func listsEveryTargetEscapedWithNoSecretOrHost() async throws {
        try await RoutesTests.test(try RoutesTests.exporter(extra: [try Self.hostile()])) { client in
            try await client.execute(uri: "/", method: .get) { response in
                let page = String(buffer: response.body)
                #expect(response.status == .ok)
                #expect(response.headers[.contentType] == "text/html; charset=utf-8")
                #expect(page.contains("data-target=\"down\"") && page.contains("data-target=\"bouncer\""))
                #expect(page.contains("db&lt;script&gt;&amp;&quot;&#39;"))
                #expect(!page.contains("<script") && !page.contains(Self.hostileName))
                #expect(page.contains("href=\"/probe?target=db%3Cscript%3E%26%22%27\""))
                #expect(page.contains("href=\"/replica?target=db%3Cscript%3E%26%22%27\""))
                #expect(page.contains("href=\"/probe?target=bouncer\"") && page.contains("href=\"/ready?target=bouncer\""))
                #expect(!page.contains("/primary?target=bouncer"))
                #expect(page.contains("href=\"/metrics\"") && page.contains("href=\"/sd\""))
                #expect(page.components(separatedBy: "data-state=\"unscraped\"").count == 4)
                #expect(page.components(separatedBy: "not scraped yet").count >= 4)
                #expect(!page.contains(RoutesTests.password) && !page.contains("127.0.0.1") && !page.contains("port=1"))
            }
            // Rendering the page scrapes nothing.
            try await client.execute(uri: "/", method: .get) { response in
                #expect(String(buffer: response.body).components(separatedBy: "data-state=\"unscraped\"").count == 4)
            }
        }
    }

    @Test func aProbedTargetThatCannotBeReachedShowsAsDownWithTheErrorKind() async throws {
        try await RoutesTests.test(try RoutesTests.exporter(extra: [try Self.hostile()])) { client in
            try await client.execute(uri: "/probe?target=down", method: .get) { #expect($0.status == .ok) }
            try await client.execute(uri: "/probe?target=db%3Cscript%3E%26%22%27", method: .get) { #expect($0.status == .ok) }
            try await client.execute(uri: "/", method: .get) { response in
                let page = String(buffer: response.body)
                let down = try #require(Self.section(page, "down"))
                #expect(down.contains("data-state=\"down\"") && down.contains("down since"))
                #expect(down.contains("cannot connect: Connection refused") && !down.contains("Is the server running"))
                #expect(down.contains("Last scrape") && down.contains("Slowest"))
                let hostile = try #require(Self.section(page, "db&lt;script&gt;&amp;&quot;&#39;"))
                #expect(hostile.contains("data-state=\"down\"") && hostile.contains("cannot connect"))
                #expect(try #require(Self.section(page, "bouncer")).contains("not scraped yet"))
                #expect(page.contains("3 targets: 0 up, 2 down, 1 not scraped yet"))
                #expect(!page.contains(RoutesTests.password) && !page.contains("127.0.0.1"))
                #expect(!page.contains("<script"))
            }
        }
    }
}
