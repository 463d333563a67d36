import Foundation
import Testing

/// README.md's examples, run as written and in order on the built executables (see `ReadmeSession` for how the
/// documented port, `swift run` and the printed values are handled), so a README that drifts from the
/// executables fails CI.
@Suite(.serialized) struct ReadmeExampleTests {
    static let packageRoot: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }()

    static var readme: String { (try? String(contentsOfFile: packageRoot + "/README.md", encoding: .utf8)) ?? "" }

    static let binariesBuilt = ["legate-manager", "legate-delegate", "legatectl", "legate-load"].allSatisfy {
        ExecutableRunner.path($0) != nil
    }

    @Test func everyShellBlockOfTheReadmeIsAnExampleOrSaysWhyNot() {
        let (examples, unmarked) = ReadmeExamples.parse(Self.readme)
        #expect(
            unmarked.isEmpty,
            "README.md lines \(unmarked): mark each shell block <!-- example: NAME --> or <!-- not run: REASON -->")
        let names = examples.compactMap { example -> String? in
            if case .notRun = example.mode { return nil }
            return example.name
        }
        #expect(Set(names).count == names.count, "example names are unique: \(names)")
        #expect(names.count >= 8)
    }

    @Test func markersAndPlaceholdersParse() {
        let text = """
            Intro:

            <!-- example: one; background until 2 "ready now" -->
                swift run thing --port 7444 \\
                    --flag <some value>

            <!-- not run: needs a server -->
            ```sh
            swift test 2>&1
            ```

            ```yaml
            key: value
            ```

                unmarked block
            """
        let (examples, unmarked) = ReadmeExamples.parse(text)
        #expect(examples.count == 2)
        #expect(examples.first?.mode == .background(until: "ready now", count: 2))
        #expect(examples.first?.script == "swift run thing --port 7444 \\\n    --flag <some value>\n")
        #expect(examples.first?.line == 4)
        #expect(examples.last?.mode == .notRun(reason: "needs a server"))
        #expect(unmarked == [16])
        #expect(ReadmeExamples.placeholders(in: examples.first?.script ?? "") == ["<some value>"])
        #expect(ReadmeExamples.placeholders(in: "cat <<EOF 2>&1 >out") == [])
        #expect(ReadmeExamples.portFlag(in: examples.first?.script ?? "") == "7444")
        var values: [String: String] = [:]
        ReadmeExamples.learn(
            from: "  account id: acc_1\n  default delegate token (shown once, store it now): ldt_x\nsubmitted tsk_9\n",
            into: &values)
        #expect(values == ["<account id>": "acc_1", "<token value>": "ldt_x", "<task id>": "tsk_9"])
        #expect(ReadmeExamples.listeningPort(in: "Legate manager listening on 127.0.0.1:41234 (TLS)") == "41234")
    }

    @Test(.enabled(if: ReadmeExampleTests.binariesBuilt), .timeLimit(.minutes(5)))
    func theExamplesRunInOrder() throws {
        let examples = ReadmeExamples.parse(Self.readme).examples.filter {
            if case .notRun = $0.mode { return false }
            return true
        }
        let session = try ReadmeSession(packageRoot: Self.packageRoot)
        var runs: [String: ReadmeSession.Run] = [:]
        for example in examples {
            let run: ReadmeSession.Run
            switch example.mode {
            case .foreground:
                run = try session.runForeground(example)
                #expect(run.status == 0, "README line \(example.line) (\(example.name)) failed:\n\(run.log)")
            case .background(let until, _):
                run = try session.startBackground(example)
                #expect(
                    run.status == nil && run.log.contains(until),
                    "README line \(example.line) (\(example.name)) did not print \"\(until)\":\n\(run.log)")
            case .notRun:
                continue
            }
            runs[example.name] = run
            if run.status != nil, run.status != 0 { break }
        }
        let stopped = session.stopAll()
        try self.checkWhatTheExamplesShow(runs, stopped: stopped)
    }

    /// What the README promises around its examples, seen in their output.
    func checkWhatTheExamplesShow(_ runs: [String: ReadmeSession.Run], stopped: [ReadmeSession.Run]) throws {
        // The banner names the binary actually run, not `swift run`.
        let banner = try #require(runs["manager"]).log
        #expect(banner.contains("/legate-delegate --name my-delegate"), "\(banner)")
        #expect(!banner.contains("swift run"))
        // The delegate's lines carry time and level.
        let delegate = try #require(stopped.first { $0.example.name == "delegate" })
        let registered = delegate.log.split(separator: "\n").first { $0.contains("registered") } ?? ""
        let timeAndLevel = #"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z info "#
        #expect(registered.range(of: timeAndLevel, options: .regularExpression) != nil, "\(registered)")
        // SIGTERM: the delegate leaves cleanly and exits 0; so does the manager.
        #expect(delegate.status == 0, "\(delegate.log)")
        #expect(delegate.log.contains("leaving"))
        for name in ["manager", "load-manager"] {
            let manager = try #require(stopped.first { $0.example.name == name })
            #expect(manager.status == 0 && manager.log.contains("shutting down"), "\(manager.log)")
        }
        let administer = try #require(runs["administer"]).log
        #expect(administer.contains("name=ci-runners-2"), "the rotation's successor is in the audit list")
        #expect(administer.contains("revoked ") && administer.contains("revoked admin key ci"))
        #expect(administer.contains("token.rotate") && !administer.contains("admin.auth"), "the audit filter held")
        let approval = try #require(runs["approval"]).log
        #expect(approval.contains("build-1") && approval.contains("build-2"))
        let pending = try #require(stopped.first { $0.example.name == "pending-delegates" }).log
        #expect(pending.contains("rejected by an administrator: unknown host"))
        #expect(pending.contains("startup script ended"))
        let tasks = try #require(runs["tasks"]).log
        #expect(tasks.contains("succeeded") && tasks.contains("Linux"))
        let taskID = try #require(runs["task-id"]).log
        #expect(taskID.contains("exit 1") && taskID.contains("no connected active delegate"))
        let load = try #require(runs["load"]).log
        #expect(load.contains("200 registered") && load.contains("errors            none"), "\(load)")
    }
}
