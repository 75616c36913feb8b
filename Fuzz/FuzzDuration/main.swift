// Fuzzes the parsers of durations and whole numbers that every flag, config value and header
// goes through: none may trap, and what they accept must be in range.
import Exporter
import FuzzSupport

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let buffer = fuzzBuffer(data, size)
    let text = String(decoding: buffer, as: UTF8.self)

    let parsed = DurationText.parse(text)
    if let parsed {
        fuzzCheck(parsed >= .zero && parsed <= DurationText.longest, "parse gave \(parsed), out of 0...longest")
        fuzzCheck(DurationText.seconds(parsed).isFinite, "seconds(\(parsed)) not finite")
    }
    switch DurationText.positive(text) {
    case .success(let duration):
        fuzzCheck(duration > .zero && duration <= DurationText.longest, "positive gave \(duration), out of range")
        fuzzCheck(duration == parsed, "positive gave \(duration), parse \(String(describing: parsed))")
    case .failure(let problem):
        fuzzCheck(!problem.text.isEmpty, "positive failed without a reason")
        fuzzCheck(parsed == nil || parsed == .zero, "positive refused what parse accepted: \(String(describing: parsed))")
    }

    for range in [WholeNumberText.connectionLimit, WholeNumberText.requestLimit, WholeNumberText.httpConnectionLimit,
                  Int.min...Int.max, 0...0] {
        switch WholeNumberText.parse(text, in: range) {
        case .success(let value): fuzzCheck(range.contains(value), "WholeNumberText gave \(value) outside \(range)")
        case .failure(let problem): fuzzCheck(!problem.text.isEmpty, "WholeNumberText failed without a reason")
        }
    }

    // The same bytes as a Double, for the conversion every parsed number goes through.
    var input = FuzzBytes(buffer)
    if let duration = DurationText.duration(seconds: input.doubleBits()) {
        fuzzCheck(duration >= .zero && duration <= DurationText.longest, "duration(seconds:) gave \(duration)")
    }
    return 0
}

@main struct FuzzDurationMain {
    static func main() {
        FuzzMain.run { data, size in fuzz(data, size) }
    }
}
