internal import CBuildStamp

/// What this binary is: the release version, and the git commit and Swift version stamped in
/// by `scripts/package.sh` ("unknown" in a plain `swift build`). `--version` and
/// `pgstack_exporter_build_info` show the same three.
public enum BuildInfo {
    public static let version = "0.1.0"
    public static let commit = String(cString: pgstack_build_commit())
    public static let swiftVersion = String(cString: pgstack_build_swift_version())

    /// The `--version` line: `0.1.0 (revision 16e87cb, Swift 6.3.1)`.
    public static let versionText = "\(version) (revision \(commit), Swift \(swiftVersion))"
}
