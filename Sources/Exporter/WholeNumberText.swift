/// Whole numbers from flags and config files, range-checked so that none can overflow the
/// sums and sizes made from them.
public enum WholeNumberText {
    /// Connections per target (or per target's databases).
    public static let connectionLimit = 1...100
    /// Requests that start work at once (`--web.max-requests`).
    public static let requestLimit = 1...10_000
    /// Open HTTP connections (`--web.max-connections`).
    public static let httpConnectionLimit = 1...100_000

    /// Parses `text` as a whole number in `range`.
    public static func parse(_ text: String, in range: ClosedRange<Int>) -> Result<Int, SettingProblem> {
        let trimmed = text.trimmingWhitespace()
        guard !trimmed.isEmpty, trimmed.allSatisfy({ ("0"..."9").contains($0) || $0 == "-" || $0 == "+" }) else {
            return .failure(SettingProblem("is not a whole number"))
        }
        guard let value = Int(trimmed), range.contains(value) else {
            return .failure(SettingProblem("is out of range (\(range.lowerBound) to \(range.upperBound))"))
        }
        return .success(value)
    }
}
