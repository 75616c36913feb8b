// encoder-benchmark — how fast the exposition path turns samples into text.
//
// Builds 100,000 series with 3 labels each (100 families × 1,000 series, realistic names and
// values: counters, fractional seconds, the odd escaped label value), then times, separately:
//   encode      TextEncoder.encode of the ready families (what every scrape pays at the end)
//   familyset   FamilySet.add of the same families (merge by name, drop duplicate series)
//   pipeline    both, as a scrape does them
// Each phase runs a bounded number of times (at most --iterations, at most --seconds); the
// median and best are reported in samples per second, with heap allocations per sample counted
// by an interposed malloc (Benchmarks/CMallocCounter; glibc only).
//
// Usage: encoder-benchmark [--series N] [--iterations N] [--seconds S]
// Build it in release mode: swift build -c release --product encoder-benchmark

import CMallocCounter
import Exposition

#if canImport(Glibc)
import Glibc
#endif

struct Settings {
    var series = 100_000
    var iterations = 15
    var seconds = 20.0
}

func parseSettings() -> Settings {
    var settings = Settings()
    var arguments = CommandLine.arguments.dropFirst().makeIterator()
    while let argument = arguments.next() {
        guard let value = arguments.next() else { fatalError("\(argument) needs a value") }
        switch argument {
        case "--series": settings.series = Int(value) ?? settings.series
        case "--iterations": settings.iterations = Int(value) ?? settings.iterations
        case "--seconds": settings.seconds = Double(value) ?? settings.seconds
        default: fatalError("unknown option \(argument)")
        }
    }
    return settings
}

/// Monotonic seconds.
func now() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

/// 100 families of `series / 100` samples, 3 labels each.
func makeFamilies(series: Int) -> [MetricFamily] {
    let familyCount = 100
    let perFamily = max(1, series / familyCount)
    return (0..<familyCount).map { f in
        var family = MetricFamily(
            name: "pg_stat_user_tables_metric_\(f)_total",
            help: "Benchmark family \(f): a counter read from pg_stat_user_tables.",
            type: f % 2 == 0 ? .counter : .gauge)
        family.samples.reserveCapacity(perFamily)
        for s in 0..<perFamily {
            let value: Double = f % 3 == 0 ? Double(s) * 0.001 + 0.25 : Double(s * 7919 + f)
            family.add(value, [
                Label("datname", "database_\(s % 20)"),
                Label("schemaname", s % 50 == 0 ? "odd \"schema\"\\" : "public"),
                Label("relname", "table_\(s)"),
            ])
        }
        return family
    }
}

struct Phase {
    let name: String
    var seconds: [Double] = []
    var allocations: [UInt64] = []
    var bytes = 0
}

func median(_ values: [Double]) -> Double {
    let sorted = values.sorted()
    return sorted[sorted.count / 2]
}

let settings = parseSettings()
let families = makeFamilies(series: settings.series)
let sampleCount = families.reduce(0) { $0 + $1.samples.count }

func run(_ name: String, _ body: () -> Int) -> Phase {
    var phase = Phase(name: name)
    _ = body()  // warm-up
    let deadline = now() + settings.seconds
    for _ in 0..<settings.iterations {
        let allocationsBefore = malloc_counter_allocations()
        let start = now()
        phase.bytes = body()
        phase.seconds.append(now() - start)
        phase.allocations.append(malloc_counter_allocations() - allocationsBefore)
        if now() > deadline { break }
    }
    return phase
}

let encode = run("encode") { TextEncoder.encode(families).count }
let familySet = run("familyset") {
    var set = FamilySet()
    set.add(families)
    return set.families.count
}
let pipeline = run("pipeline") {
    var set = FamilySet()
    set.add(families)
    return TextEncoder.encode(set.families).count
}

print("encoder-benchmark: \(sampleCount) series × 3 labels in \(families.count) families, \(encode.bytes) bytes of text")
if malloc_counter_active() == 0 { print("(allocation counting not available on this platform)") }
print("phase      runs  median ms  best ms  samples/s (median)  allocs/run  allocs/sample")
for phase in [encode, familySet, pipeline] {
    let med = median(phase.seconds)
    let best = phase.seconds.min() ?? 0
    let allocs = phase.allocations.sorted()[phase.allocations.count / 2]
    let line = [
        phase.name.rightPad(10),
        String(phase.seconds.count).leftPad(5),
        String(format3(med * 1000)).leftPad(10),
        String(format3(best * 1000)).leftPad(8),
        String(Int((Double(sampleCount) / med).rounded())).leftPad(19),
        String(allocs).leftPad(11),
        format3(Double(allocs) / Double(sampleCount)).leftPad(14),
    ].joined(separator: " ")
    print(line)
}
let rate = Double(sampleCount) / median(encode.seconds)
print("target: encode ≥ 5,000,000 samples/s → \(rate >= 5_000_000 ? "met" : "NOT met") (\(Int(rate)))")

func format3(_ value: Double) -> String {
    let scaled = (value * 1000).rounded() / 1000
    return "\(scaled)"
}

extension String {
    func leftPad(_ width: Int) -> String {
        count >= width ? self : String(repeating: " ", count: width - count) + self
    }
}

extension String {
    func rightPad(_ width: Int) -> String {
        count >= width ? self : self + String(repeating: " ", count: width - count)
    }
}
