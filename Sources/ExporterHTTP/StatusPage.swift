import Exporter
import Foundation
import Mustache

/// The page at `/`, for the person on call: each target's state since when, role, lag, last
/// scrape, slowest and failing collectors, last error, and links to scrape or check it. It shows
/// what the last scrapes recorded and never scrapes. No host, DSN or password is ever on it,
/// and every value goes through the template's HTML escaping.
enum StatusPage {
    static func html(statuses: [TargetStatus], telemetryPath: String, now: Date = Date()) -> String {
        let targets = statuses.map { TargetView($0, now: now) }
        let up = targets.filter { $0.state == "up" }.count
        let down = targets.filter { $0.state == "down" }.count
        var summary = "\(targets.count) target\(targets.count == 1 ? "" : "s"): \(up) up, \(down) down"
        if targets.count > up + down { summary += ", \(targets.count - up - down) not scraped yet" }
        let page = PageView(
            version: BuildInfo.version, metricsPath: telemetryPath, renderedAt: Self.time(now),
            summary: summary, targets: targets)
        return template.render(page)
    }

    /// Parsed once; the text is a constant, so a parse error is a bug the route tests catch.
    static let template: MustacheTemplate = {
        do {
            return try MustacheTemplate(string: templateText)
        } catch {
            fatalError("the status page template does not parse: \(error)")
        }
    }()

    /// What the template reads (through Mirror): strings made safe to show, escaped on output.
    struct PageView {
        let version: String
        let metricsPath: String
        let renderedAt: String
        let summary: String
        let targets: [TargetView]
    }

    struct TargetView {
        let name: String
        let kind: String
        /// `up`, `down` or `unscraped`: the row's class and `data-state`.
        let state: String
        let stateText: String
        let sinceText: String?
        let role: String?
        let lag: String?
        let lastScrape: String?
        let slowest: [Line]
        let failing: [Line]
        /// What the monitoring role cannot see: the capability, and what would grant it.
        let cannotSee: [Line]
        /// Whether ``cannotSee`` has a line (the template's test; stored: the template reads
        /// properties by reflection, which sees no computed ones).
        let blind: Bool
        let scraped: Bool
        let lastError: String?
        let links: [Link]

        init(_ status: TargetStatus, now: Date) {
            name = status.name
            kind = status.kind.rawValue
            let query = "?target=" + StatusPage.queryValue(status.name)
            let checks = status.kind == .postgres ? ["ready", "primary", "replica"] : ["ready"]
            links = [Link(label: "probe", href: "/probe" + query)] + checks.map { Link(label: $0, href: "/\($0)" + query) }
            lastError = status.lastError.map { error in
                "\(error.kindText) (\(error.collector), \(StatusPage.time(error.at)), \(StatusPage.ago(error.at, now: now))): \(error.text)"
            }
            guard let scrape = status.lastScrape else {
                (state, stateText, sinceText, role, lag, lastScrape) = ("unscraped", "not scraped yet", nil, nil, nil, nil)
                (slowest, failing, cannotSee, blind, scraped) = ([], [], [], false, false)
                return
            }
            scraped = true
            state = scrape.up ? "up" : "down"
            stateText = state
            sinceText = "since \(StatusPage.time(scrape.since)) (\(StatusPage.ago(scrape.since, now: now)))"
            role = scrape.role.map { $0.rawValue + (scrape.roleIsCurrent ? "" : " (when last seen)") }
            lag = scrape.lagSeconds.map { StatusPage.seconds($0) }
            lastScrape = "\(StatusPage.time(scrape.at)) (\(StatusPage.ago(scrape.at, now: now))), took \(StatusPage.duration(scrape.duration))"
            slowest = scrape.slowest.map { Line(collector: $0.collector, detail: StatusPage.duration($0.duration)) }
            failing = Self.grouped(scrape.failing.map { ($0.collector, "\($0.error.kindText): \($0.error.text)") })
            cannotSee = scrape.cannotSee.map { Line(collector: $0.capability.replacingOccurrences(of: "_", with: " "), detail: $0.grantedBy) }
            blind = !cannotSee.isEmpty
        }

        /// One line per distinct error, naming every collector that met it (an unreachable
        /// target fails all of them the same way).
        static func grouped(_ failures: [(collector: String, detail: String)]) -> [Line] {
            var details: [String] = []
            var collectors: [String: [String]] = [:]
            for failure in failures {
                if collectors[failure.detail] == nil { details.append(failure.detail) }
                collectors[failure.detail, default: []].append(failure.collector)
            }
            return details.map { Line(collector: collectors[$0, default: []].joined(separator: ", "), detail: $0) }
        }
    }

    struct Line {
        let collector: String
        let detail: String
    }

    struct Link {
        let label: String
        let href: String
    }

    /// `text` percent-encoded for a query value: only unreserved characters stay as they are.
    static func queryValue(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: unreserved) ?? ""
    }

    private static let unreserved = CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")

    /// `2025-06-01 10:00:00 UTC`.
    static func time(_ date: Date) -> String {
        date.formatted(Date.ISO8601FormatStyle(dateTimeSeparator: .space, timeZone: .gmt)).replacingOccurrences(of: "Z", with: " UTC")
    }

    /// `5 s ago`, `3 min ago`, `2 h ago`, `4 d ago`.
    static func ago(_ date: Date, now: Date) -> String {
        let seconds = max(0, Int(now.timeIntervalSince(date)))
        switch seconds {
        case ..<120: return "\(seconds) s ago"
        case ..<7200: return "\(seconds / 60) min ago"
        case ..<172_800: return "\(seconds / 3600) h ago"
        default: return "\(seconds / 86400) d ago"
        }
    }

    /// `0 ms`, `850 ms`, `1.2 s`, `42 s`.
    static func duration(_ duration: Duration) -> String {
        let value = DurationText.seconds(duration)
        return value < 1 ? "\(Int((value * 1000).rounded())) ms" : seconds(value)
    }

    /// `0 s`, `2.5 s`, `42 s` (a lag).
    static func seconds(_ value: Double) -> String {
        if value == 0 { return "0 s" }
        if value < 10 { return String(format: "%.1f s", value) }
        return "\(Int(value.rounded())) s"
    }

    /// The page. Values are `{{escaped}}` only (never `{{{…}}}`), attributes double-quoted.
    static let templateText = """
        <!doctype html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>pgstack_exporter status</title>
        <style>
        body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5em; color: #222; background: #fafafa; }
        h1 { font-size: 1.4em; margin: 0 0 .2em; }
        nav a, .links a { margin-right: .8em; }
        .note { color: #666; }
        .targets { display: grid; grid-template-columns: repeat(auto-fill, minmax(380px, 1fr)); gap: 1em; margin-top: 1em; }
        .target { background: #fff; border: 1px solid #ddd; border-left: 6px solid #999; border-radius: 4px; padding: .6em 1em; }
        .target.up { border-left-color: #2e7d32; }
        .target.down { border-left-color: #c62828; background: #fff5f5; }
        .target h2 { font-size: 1.15em; margin: 0; }
        .badge { display: inline-block; padding: 0 .5em; border-radius: 3px; color: #fff; background: #999; font-size: .85em; font-weight: bold; }
        .up .badge { background: #2e7d32; }
        .down .badge { background: #c62828; }
        .kind { color: #666; font-weight: normal; }
        dl { display: grid; grid-template-columns: max-content 1fr; gap: .15em .8em; margin: .5em 0; }
        dt { color: #666; }
        dd { margin: 0; overflow-wrap: anywhere; }
        ul { margin: 0; padding-left: 1.1em; }
        .error { color: #b71c1c; }
        </style>
        </head>
        <body>
        <h1>pgstack_exporter {{version}}</h1>
        <nav><a href="{{metricsPath}}">Metrics</a><a href="/sd">Service discovery (/sd)</a><a href="/healthz">Health</a></nav>
        <p><strong id="summary">{{summary}}</strong> <span class="note">· as of {{renderedAt}}, from the last scrapes (this page never scrapes; a probe link does)</span></p>
        <div class="targets">
        {{#targets}}
        <section class="target {{state}}" data-target="{{name}}" data-state="{{state}}">
        <h2>{{name}} <span class="kind">({{kind}})</span> <span class="badge">{{stateText}}</span></h2>
        <dl>
        {{#scraped}}
        <dt>State</dt><dd>{{stateText}} {{sinceText}}</dd>
        {{#role}}<dt>Role</dt><dd>{{role}}</dd>{{/role}}
        {{#lag}}<dt>Replication lag</dt><dd>{{lag}}</dd>{{/lag}}
        <dt>Last scrape</dt><dd>{{lastScrape}}</dd>
        <dt>Slowest</dt><dd><ul>{{#slowest}}<li>{{collector}} {{detail}}</li>{{/slowest}}</ul></dd>
        <dt>Failing</dt><dd>{{^failing}}none{{/failing}}<ul class="error">{{#failing}}<li>{{collector}}: {{detail}}</li>{{/failing}}</ul></dd>
        {{#blind}}<dt>Cannot see</dt><dd><ul class="error">{{#cannotSee}}<li>{{collector}} (grant {{detail}}): its metrics are absent</li>{{/cannotSee}}</ul></dd>{{/blind}}
        {{/scraped}}
        {{^scraped}}
        <dt>State</dt><dd>not scraped yet</dd>
        {{/scraped}}
        <dt>Last error</dt><dd>{{#lastError}}<span class="error">{{lastError}}</span>{{/lastError}}{{^lastError}}none{{/lastError}}</dd>
        </dl>
        <div class="links">{{#links}}<a href="{{href}}">{{label}}</a>{{/links}}</div>
        </section>
        {{/targets}}
        {{^targets}}
        <p>No targets configured.</p>
        {{/targets}}
        </div>
        </body>
        </html>

        """
}
