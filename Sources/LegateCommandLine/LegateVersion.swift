/// The version every Legate executable prints for `--version`.
public enum LegateVersion {
    /// The release these sources build.
    public static let current = "0.1.0"
}
