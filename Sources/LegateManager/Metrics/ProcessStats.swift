import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// This process's CPU time, memory and descriptors, read from /proc at scrape time (Linux).
struct ProcessStats {
    /// User plus system CPU seconds.
    var cpuSeconds: Double?
    /// Resident set size in bytes.
    var residentBytes: Double?
    /// Virtual memory size in bytes.
    var virtualBytes: Double?
    /// Open file descriptors.
    var openFDs: Double?
    /// The soft limit on open descriptors.
    var maxFDs: Double?
    /// Start time, seconds since 1970.
    var startTimeSeconds: Double?

    /// Reads the current values; a field that cannot be read stays nil and is left out of the exposition.
    static func read() -> ProcessStats {
        var stats = ProcessStats()
        let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
        let page = Double(sysconf(Int32(_SC_PAGESIZE)))
        if let stat = try? String(contentsOfFile: "/proc/self/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        {
            // Fields after the command name (which may hold spaces): state is field 3, utime 14, stime 15,
            // starttime 22, vsize 23, rss 24.
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            func field(_ number: Int) -> Double? {
                let index = number - 3
                return index < fields.count ? Double(fields[index]) : nil
            }
            if let user = field(14), let system = field(15), ticks > 0 { stats.cpuSeconds = (user + system) / ticks }
            stats.virtualBytes = field(23)
            if let rss = field(24) { stats.residentBytes = rss * page }
            if let start = field(22), ticks > 0, let boot = Self.bootTime() {
                stats.startTimeSeconds = boot + start / ticks
            }
        }
        if let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd") {
            stats.openFDs = Double(entries.count)
        }
        var limit = rlimit()
        if getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 { stats.maxFDs = Double(limit.rlim_cur) }
        return stats
    }

    private static func bootTime() -> Double? {
        guard let text = try? String(contentsOfFile: "/proc/stat", encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix("btime ") {
            return Double(line.dropFirst(6).trimmingCharacters(in: .whitespaces))
        }
        return nil
    }
}
